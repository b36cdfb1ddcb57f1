"""Endpoints go through the services: no endpoint module reaches a repository itself."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).parents[1] / "src" / "hbs_identity"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_endpoints_call_services_not_repositories() -> None:
    reaching = {
        str(path.relative_to(SOURCE))
        for path in sorted(SOURCE.glob("*/endpoints.py"))
        if any(module.endswith(".repository") for module in _imported_modules(path))
    }
    assert reaching == set()


def test_people_service_is_one_module_per_kind_of_person() -> None:
    people = {path.name for path in (SOURCE / "people").glob("*.py")}
    assert {"students.py", "parents.py", "staff.py"} <= people
