"""Every operation of every service's OpenAPI (from the running stack) has a row in the policy
table, and every row names an operation that exists: a new endpoint cannot ship without someone
deciding who may call it."""

from __future__ import annotations

from collections import Counter

import pytest

from hbs_shared.devstack.drive import SystemClient
from tests.security.policy import GRANTS, POLICY, THINGS, template
from tests.security.world import HTTP

pytestmark = [pytest.mark.broker, pytest.mark.hsm]

SERVICES = ("identity", "grades", "signing")


def _operations(system: SystemClient) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for service in SERVICES:
        document = HTTP.get(system.stack.url(service) + "/openapi.json", timeout=30).json()
        for path, operations in document["paths"].items():
            for method in operations:
                found.add((service, method.upper(), template(path)))
    return found


def test_the_policy_table_is_well_formed() -> None:
    twice = [key for key, count in Counter(rule.key for rule in POLICY).items() if count > 1]
    assert not twice, f"operations with more than one row: {twice}"
    for rule in POLICY:
        assert rule.may, rule
        assert set(rule.may) <= set(GRANTS), rule
        assert set(rule.sees or ()) <= set(GRANTS), rule
        assert set(rule.objects) <= set(THINGS), rule
        assert rule.probe or rule.note, f"a row the matrix does not probe says why: {rule}"


def test_every_operation_in_every_openapi_has_a_row_and_every_row_an_operation(system: SystemClient) -> None:
    in_openapi = _operations(system)
    in_table = {rule.key for rule in POLICY}
    without_row = sorted(in_openapi - in_table)
    without_operation = sorted(in_table - in_openapi)
    print(f"\nOpenAPI operations: {len(in_openapi)}; policy rows: {len(in_table)}")
    problems = [f"operation with no row in tests/security/policy.py: {key}" for key in without_row]
    problems += [f"row naming an operation no service has: {key}" for key in without_operation]
    assert not problems, "\n".join(problems)
