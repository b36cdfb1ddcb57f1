"""The layout the code keeps: SQL only in repositories, PKCS#11 only in the token package."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).parents[1] / "src" / "hbs_signing"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_endpoints_hold_no_sql() -> None:
    with_sql = [
        str(path.relative_to(SOURCE))
        for path in sorted(SOURCE.glob("*/endpoints.py"))
        if any(name == "sqlalchemy" or name.startswith("sqlalchemy.") for name in _imports(path))
    ]
    assert with_sql == []


def test_only_the_token_package_loads_pkcs11() -> None:
    users = {
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if any(name == "pkcs11" or name.startswith("pkcs11.") for name in _imports(path))
    }
    assert users
    assert {user for user in users if not user.startswith("token/")} == set()
