"""Each service's OpenAPI document for outside systems: stable operation ids (the route's name),
the security schemes (a person's bearer JWT, an outside system's OAuth 2 client credentials), the
real error shape (application/problem+json) on every operation, and files typed as files."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from hbs_shared.auth import OAUTH_TOKEN_PATH, bearer_scheme, client_credentials_scheme
from hbs_shared.problems import PROBLEM_JSON

OPERATION_ID = re.compile(r"^[a-z][a-z0-9_]*$")
"""An operation id is the route's function name (snake case), unique in its service."""
API_VERSION = "1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BINARY = {"type": "string", "format": "binary"}


def operation_id(route: APIRoute) -> str:
    """FastAPI's `generate_unique_id_function`: the route's name, not path + method, so an id
    survives a path change. Uniqueness is checked when the document is made."""
    return route.name


def file_response(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an endpoint answering a file (PDF, .xlsx, PEM…) instead of JSON."""
    return {200: {"description": description, "content": {media_type: {"schema": dict(_BINARY)}}}}


def duplicate_operation_ids(spec: dict[str, Any]) -> list[str]:
    ids = Counter(
        operation.get("operationId") for item in spec.get("paths", {}).values() for operation in item.values()
    )
    return sorted(str(name) for name, count in ids.items() if count > 1)


_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. `title` is for the user (Vietnamese), `detail` says "
    "what went wrong (English); `field` names the input at fault, where there is one.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "maxLength": 200, "default": "about:blank"},
        "title": {"type": "string", "maxLength": 500},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "maxLength": 4000},
        "instance": {"type": "string", "maxLength": 2000},
        "field": {"type": "string", "maxLength": 200},
        "error": {
            "type": "string",
            "maxLength": 40,
            "description": "RFC 6750 error code on a refused token: `invalid_token`, `insufficient_scope`",
        },
        "scope": {"type": "string", "maxLength": 40, "description": "the scope that was missing"},
    },
    "additionalProperties": True,
    "examples": [
        {
            "type": "about:blank",
            "title": "Không tìm thấy tài liệu",
            "status": 404,
            "detail": "no such document",
            "instance": "/documents/0b6f3c1e-8a2d-4e5f-9a7b-1c2d3e4f5a6b",
            "field": "document_id",
        }
    ],
}
_VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "ValidationProblem",
    "description": "422: the input at fault; `errors` lists each field when the request's shape "
    "was refused (a rule of the domain names one `field`).",
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {
                            "field": {"type": "string", "maxLength": 200},
                            "message": {"type": "string", "maxLength": 1000},
                        },
                    },
                }
            },
        },
    ],
    "examples": [
        {
            "type": "about:blank",
            "title": "Dữ liệu không hợp lệ",
            "status": 422,
            "detail": "name: String should have at least 1 character",
            "instance": "/oauth/clients",
            "field": "name",
            "errors": [{"field": "name", "message": "String should have at least 1 character"}],
        }
    ],
}


def _problem(description: str, schema: str = "Problem") -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_STANDARD_ERRORS = {
    "401": "Not signed in, or the token is invalid, expired or revoked",
    "403": "Not allowed (a role, an object, or a client's scope)",
    "404": "No such object, or not one the caller may see",
}


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _complete(spec: dict[str, Any], identity_url: str) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = _PROBLEM_SCHEMA
    schemas["ValidationProblem"] = _VALIDATION_PROBLEM_SCHEMA
    # Both schemes in every service, used or not yet: an outside system reads how to get a token.
    schemes = components.setdefault("securitySchemes", {})
    for scheme in (bearer_scheme, client_credentials_scheme):
        schemes.setdefault(
            scheme.scheme_name, scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        )
    flow = schemes["clientCredentials"]["flows"]["clientCredentials"]
    flow["tokenUrl"] = identity_url.rstrip("/") + OAUTH_TOKEN_PATH
    for path, item in spec.get("paths", {}).items():
        for operation in item.values():
            for requirement in operation.get("security", []):
                for name in requirement:
                    # Scopes belong to OAuth 2 only; FastAPI hands them to every scheme of the route.
                    if schemes.get(name, {}).get("type") != "oauth2":
                        requirement[name] = []
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, response in responses.items():
                content: dict[str, Any] = response.get("content", {})
                if status.startswith("2"):
                    for media_type, body in content.items():
                        if not _is_json(media_type) and not body.get("schema"):
                            body["schema"] = dict(_BINARY)
                elif status == "422":
                    responses[status] = _problem("Invalid input, each field named", "ValidationProblem")
            if operation.get("security"):
                for status in ("401", "403"):
                    responses.setdefault(status, _problem(_STANDARD_ERRORS[status]))
            if "{" in path:
                responses.setdefault("404", _problem(_STANDARD_ERRORS["404"]))
            responses.setdefault("default", _problem("Any other error (5xx included)"))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec


def install_openapi(app: FastAPI, *, identity_url: str, server_url: str, description: str = "") -> None:
    """Replaces `app.openapi` by one that completes FastAPI's document (see the module's doc).
    Refuses to make a document with two operations of the same id."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=API_VERSION,
            openapi_version=app.openapi_version,
            description=description or app.description,
            routes=app.routes,
            servers=[{"url": server_url}],
        )
        duplicates = duplicate_operation_ids(spec)
        if duplicates:
            raise RuntimeError(f"operation ids used twice: {duplicates}")
        app.openapi_schema = _complete(spec, identity_url)
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010 — FastAPI's documented way to customise it
