"""The HTTP APIs as outside systems read them (issue 13 §6): each service's `/openapi.json` names
every operation by a stable id (the route's name, snake case, unique), types every successful
answer (a file as a file: the signed PDF is application/pdf, not JSON), documents the real error
shape (application/problem+json) on every operation, and declares its security schemes — a
person's bearer JWT and an outside system's OAuth 2 client credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from hbs_shared.openapi import OPERATION_ID, install_openapi, operation_id

from .test_api_bounds import APPS

PROBLEM_REFS = {"#/components/schemas/Problem", "#/components/schemas/ValidationProblem"}
# RFC 6749 §5.2 prescribes the token endpoint's own error shape (application/json).
OAUTH_ERRORS = {
    ("/v1/oauth/token", "400"),
    ("/v1/oauth/token", "401"),
    ("/oauth/token", "400"),
    ("/oauth/token", "401"),
}


@pytest.fixture(scope="module", params=sorted(APPS))
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[FastAPI, dict[str, Any]]:
    """Each service's app and the document it serves at /openapi.json."""
    app = APPS[request.param](tmp_path_factory.mktemp(request.param))
    answer = TestClient(app).get("/openapi.json")  # without `with`: the lifespan does not start
    assert answer.status_code == 200
    return app, dict(answer.json())


@pytest.fixture
def spec(service: tuple[FastAPI, dict[str, Any]]) -> dict[str, Any]:
    return service[1]


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _untyped(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """An empty schema, or an object that says nothing of its properties."""
    if not schema:
        return True
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return _untyped(spec, schema.get("items", {}))
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if options:
        return any(_untyped(spec, o) for o in options)
    if schema.get("type") == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties")
        return not isinstance(extra, dict) or _untyped(spec, extra)
    return False


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)  # OpenAPI 3.1 (openapi-spec-validator): what a client generator reads


def test_every_operation_has_a_stable_unique_id(service: tuple[FastAPI, dict[str, Any]]) -> None:
    """The route's name, not FastAPI's generated `<name>_<path>_<method>`, which changes with the path."""
    app, spec = service
    names = {
        context.original_route.name
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    }
    ids = [op.get("operationId", "") for _, _, op in _operations(spec)]
    bad = [i for i in ids if not OPERATION_ID.match(i)]
    assert not bad, f"operation ids not snake case route names: {bad}"
    assert len(ids) == len(set(ids))
    generated = [
        f"{method.upper()} {path}: {op.get('operationId')}"
        for path, method, op in _operations(spec)
        if op.get("operationId") not in names
    ]
    assert not generated, f"operation ids not the route's name: {generated}"


def test_every_successful_answer_is_typed(spec: dict[str, Any]) -> None:
    untyped = [
        f"{method.upper()} {path} {status} {media}"
        for path, method, op in _operations(spec)
        for status, response in op["responses"].items()
        if status.startswith("2")
        for media, body in response.get("content", {}).items()
        if _untyped(spec, body.get("schema", {}))
    ]
    assert not untyped, untyped


def test_every_operation_documents_its_errors_as_problem_json(spec: dict[str, Any]) -> None:
    missing, wrong = [], []
    for path, method, op in _operations(spec):
        errors = {s: r for s, r in op["responses"].items() if not s.startswith(("1", "2", "3"))}
        shapes = [
            r.get("content", {}).get("application/problem+json", {}).get("schema", {})
            for r in errors.values()
        ]
        if not any(s.get("$ref") in PROBLEM_REFS for s in shapes):
            missing.append(f"{method.upper()} {path}")
        for status, response in errors.items():
            if "application/json" in response.get("content", {}) and (path, status) not in OAUTH_ERRORS:
                wrong.append(f"{method.upper()} {path} {status}")
    assert not missing, f"no application/problem+json error response: {missing}"
    assert not wrong, f"errors documented as application/json: {wrong}"
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert problem["examples"]


def test_secured_operations_declare_their_schemes(spec: dict[str, Any]) -> None:
    secured = [op for _, _, op in _operations(spec) if op.get("security")]
    # The portal's API is health only (its pages are HTML, not in the document).
    assert secured or spec["info"]["title"] == "HBS portal"
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["bearerAuth"]["description"],
    }
    flow = schemes["clientCredentials"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"].endswith("/v1/oauth/token")
    assert set(flow["scopes"]) == {"verify", "records.read", "national.export"}
    for op in secured:
        for requirement in op["security"]:
            assert set(requirement) <= {"bearerAuth", "clientCredentials"}
            assert requirement.get("bearerAuth", []) == []


def test_outside_systems_find_their_endpoints_typed_and_versioned(tmp_path: Path) -> None:
    identity = APPS["identity"](tmp_path / "identity").openapi()
    signing = APPS["signing"](tmp_path / "signing").openapi()
    token = identity["paths"]["/v1/oauth/token"]["post"]
    assert token["operationId"] == "oauth_token"
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert token["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/OAuthError")
    for name in ("ClientToken", "ClientOut", "ClientIn", "Jwks"):
        assert identity["components"]["schemas"][name]["examples"], name

    pdf = signing["paths"]["/documents/{document_id}/pdf"]["get"]["responses"]["200"]["content"]
    assert list(pdf) == ["application/pdf"]
    assert pdf["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    status = signing["paths"]["/v1/status/{sha256}"]["get"]
    assert status["security"] == [{"clientCredentials": ["verify"]}]
    assert status["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DocumentStatus"
    )
    for path in ("/v1/verify", "/v1/verify/{code}", "/verify", "/verify/{code}"):
        (operation,) = signing["paths"][path].values()
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/VerificationReport"), path
    upload = signing["paths"]["/v1/verify"]["post"]["requestBody"]["content"]
    assert list(upload) == ["application/pdf"]
    for name in ("DocumentStatus", "VerificationReport", "DocumentOut", "CertificateStatus"):
        assert signing["components"]["schemas"][name]["examples"], name


def test_two_operations_of_one_id_are_refused() -> None:
    app = FastAPI(generate_unique_id_function=operation_id)
    install_openapi(app, identity_url="http://identity", server_url="http://service")

    @app.get("/a", name="same")
    async def first() -> dict[str, str]:
        return {}

    @app.get("/b", name="same")
    async def second() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="same"):
        app.openapi()
