"""Each export checked against the schema kept beside this file before it is served: the XML
against `structure/hocba-1.xsd` (lxml), the JSON against `structure/hocba-1.schema.json`
(jsonschema, draft 2020-12). A document that fails its own schema is an error, never sent."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from jsonschema import Draft202012Validator
from lxml import etree

STRUCTURE = Path(__file__).parent / "structure"
XSD = STRUCTURE / "hocba-1.xsd"
JSON_SCHEMA = STRUCTURE / "hocba-1.schema.json"
_SHOWN = 5


class SchemaViolation(Exception):
    """The document does not match its schema; `errors` says where (paths and rules, no values)."""

    def __init__(self, form: str, errors: list[str]) -> None:
        super().__init__(f"{form}: " + "; ".join(errors[:_SHOWN]))
        self.form = form
        self.errors = errors


@functools.cache
def xml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


@functools.cache
def json_validator() -> Draft202012Validator:
    schema = json.loads(JSON_SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_xml(data: bytes) -> None:
    """Raise `SchemaViolation` unless `data` is a well-formed document valid against the XSD."""
    # No network, no entities: the document is ours, but the parser stays closed all the same.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        tree = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise SchemaViolation("xml", [f"line {error.lineno}: not well-formed"]) from None
    schema = xml_schema()
    if not schema.validate(tree):
        errors = [f"line {e.line}: {e.type_name}" for e in cast(Iterable[Any], schema.error_log)]
        raise SchemaViolation("xml", errors or ["invalid"])


def check_json(doc: Mapping[str, Any]) -> None:
    """Raise `SchemaViolation` unless `doc` is valid against the JSON Schema."""
    found = sorted(json_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if found:
        errors = ["/" + "/".join(str(p) for p in e.absolute_path) + f": {e.validator}" for e in found]
        raise SchemaViolation("json", errors)
