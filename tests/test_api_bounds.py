"""Every number and string a service accepts is bounded (issue 9, hole 7): an unbounded offset or
a free-text enum answered 500. Walks each app's OpenAPI: every parameter and request body property
of type integer or number has a maximum and a minimum, every string a maxLength, an enum, a pattern
or a bounded format (uuid, date, date-time, binary)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from hbs_grades.app import create_app as create_grades
from hbs_grades.settings import GradesSettings
from hbs_identity.app import create_app as create_identity
from hbs_identity.settings import IdentitySettings
from hbs_portal.app import create_app as create_portal
from hbs_portal.settings import PortalSettings
from hbs_signing.app import create_app as create_signing
from hbs_signing.settings import SigningSettings

BOUNDED_FORMATS = {"uuid", "date", "date-time", "binary"}


APPS: dict[str, Callable[[Path], FastAPI]] = {
    "identity": lambda tmp: create_identity(IdentitySettings(data_dir=tmp, environment="test")),
    "grades": lambda tmp: create_grades(GradesSettings(data_dir=tmp, environment="test")),
    "signing": lambda tmp: create_signing(SigningSettings(data_dir=tmp, environment="test")),
    "portal": lambda tmp: create_portal(PortalSettings(data_dir=tmp, environment="test")),
}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _unbounded(spec: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]) -> Iterator[str]:
    """Where a schema accepts an unbounded number or string (recursing into objects and arrays)."""
    if "$ref" in schema:
        name = schema["$ref"]
        if name in seen:
            return
        seen = seen | {name}
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from _unbounded(spec, option, where, seen)
    kind = schema.get("type")
    if kind in ("integer", "number"):
        has_max = "maximum" in schema or "exclusiveMaximum" in schema
        has_min = "minimum" in schema or "exclusiveMinimum" in schema
        if not (has_max and has_min):
            yield f"{where}: {kind} without minimum/maximum"
    elif kind == "string":
        if not (
            "maxLength" in schema
            or "enum" in schema
            or "const" in schema
            or "pattern" in schema
            or schema.get("format") in BOUNDED_FORMATS
        ):
            yield f"{where}: string without maxLength/enum/pattern/format"
    elif kind == "array":
        yield from _unbounded(spec, schema.get("items", {}), f"{where}[]", seen)
    if kind == "object" or "properties" in schema:
        for name, prop in schema.get("properties", {}).items():
            yield from _unbounded(spec, prop, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            yield from _unbounded(spec, extra, f"{where}.*", seen)


def unbounded_inputs(app: FastAPI) -> list[str]:
    spec = app.openapi()
    found: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            name = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                where = f"{name} {parameter['in']} {parameter['name']}"
                found += _unbounded(spec, parameter.get("schema", {}), where, set())
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                found += _unbounded(spec, content.get("schema", {}), f"{name} body({media})", set())
    return found


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_number_and_string_a_service_accepts_is_bounded(service: str, tmp_path: Path) -> None:
    assert unbounded_inputs(APPS[service](tmp_path)) == []
