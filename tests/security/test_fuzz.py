"""Property-based API fuzzing (schemathesis) from each service's OpenAPI on the running stack:
no 5xx, and every documented response matches its schema.

Identity, grades and signing are fuzzed with the admin's token (quantri), grades also with a
subject teacher's (gv.toan). Bounded for CI: `HBS_FUZZ_EXAMPLES` examples per operation
(default 3, derandomised); `make test-security` runs many more.

Not fuzzed with the admin's rights, because they would change the shared demo school the other
tests rely on (or lock its sign-ins): see EXCLUDED."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from requests.adapters import HTTPAdapter
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.security.policy import template
from tests.security.world import World

pytestmark = [pytest.mark.broker, pytest.mark.hsm]

SOURCE = "127.0.0.11"
"""The fuzzer's own loopback address: its calls count apart from other tests' in per-client limits
(test_revocation's receiver is 127.0.0.6)."""
EXAMPLES = int(os.environ.get("HBS_FUZZ_EXAMPLES", "3"))


@schemathesis.serializer("application/pdf", "application/timestamp-query")
def _binary(_context: Any, value: Any) -> bytes:
    """The file bodies the documents declare (a PDF to verify, a timestamp query), sent as generated."""
    return value if isinstance(value, bytes) else str(value).encode()


EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/auth/token"): "random failed sign-ins count towards the lock-out of the stack's one address",
    ("POST", "/auth/password"): "would change the admin's password",
    ("POST", "/auth/totp/setup"): "would start TOTP on the admin's account",
    ("POST", "/auth/totp/confirm"): "would turn on TOTP for the admin",
    ("PUT", "/school"): "renames the demo school",
    ("POST", "/school-years"): "a new current year would move the whole demo school",
    ("POST", "/school-years/{}/current"): "changes the current year",
    ("PATCH", "/school-years/{}"): "changes the demo year",
    ("PATCH", "/departments/{}"): "renames demo departments",
    ("PATCH", "/classes/{}"): "renames demo classes",
    ("PATCH", "/students/{}"): "changes demo students",
    ("PATCH", "/parents/{}"): "changes demo parents (phone = their login)",
    ("PATCH", "/staff/{}"): "changes demo staff's roles",
    ("POST", "/students/{}/enrolments"): "moves demo students between classes",
    ("POST", "/students/{}/leave"): "takes demo students out of their class",
    ("POST", "/parents/{}/children"): "links demo children to other parents",
    ("POST", "/assignments"): "gives demo classes other teachers",
    ("POST", "/accounts/{}/disable"): "disables demo accounts",
    ("POST", "/accounts/{}/enable"): "account state of demo people",
    ("POST", "/accounts/{}/password"): "resets demo people's passwords",
    ("POST", "/accounts/{}/totp/reset"): "resets demo people's second factor",
    ("POST", "/accounts/{}/sign-in-slip"): "resets demo people's passwords",
    ("POST", "/classes/{}/sign-in-slips"): "resets a whole demo class's passwords",
    ("POST", "/imports/{}"): "imports (dry_run=false) into the demo school",
    ("POST", "/accounts/{}/factor-resets"): "requests resets of demo people's factors",
    ("POST", "/factor-resets/{}/approve"): "approves resets",
    ("PUT", "/signing-pin"): "changes the admin's signing PIN",
    ("POST", "/signing-pin/{}/reset"): "resets demo signers' PINs",
    ("POST", "/activations"): "wrong PINs count towards the admin's PIN lock-out",
    ("POST", "/certificates/requests"): "generates keys in the token for random people (slow, and hole 9)",
    ("PUT", "/classes/{}/plan/{}"): "changes the demo classes' periods per year",
    ("POST", "/records/classes/{}/return"): "returns demo classes' signed records",
}
EXCLUDED_METHODS = {"DELETE": "deletes demo objects"}


class FromAddress(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (SOURCE, 0)
        super().init_poolmanager(*args, **kwargs)


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    """Operation → the first failure seen (5xx or a response off its schema)."""
    excluded: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def fuzz(world: World, service: str, login: str, tally: Tally) -> None:
    base = world.system.stack.url(service)
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    session = requests.Session()
    session.mount("http://", FromAddress())
    signed_at = 0.0
    for result in schema.get_all_operations():
        if time.monotonic() - signed_at > 120:  # access tokens live 5 minutes; a long run renews them
            world.refresh_tokens()
            session.headers["authorization"] = f"Bearer {world.tokens[login]}"
            signed_at = time.monotonic()
        if isinstance(result, Err):
            raise result.err()  # an operation schemathesis cannot read is a failure of the OpenAPI itself
        operation = result.ok()
        method, path = operation.method.upper(), operation.path
        reason = EXCLUDED_METHODS.get(method) or EXCLUDED.get((method, template(path)))
        if reason is not None:
            tally.excluded.append(f"{service} {method} {path}: {reason}")
            continue
        started = time.monotonic()
        run_operation(operation, base, session, f"{service} {method} {path}", tally)
        tally.seconds[f"{service} {method} {path}"] = time.monotonic() - started


def run_operation(
    operation: schemathesis.APIOperation[Any, Any, Any, Any],
    base: str,
    session: requests.Session,
    name: str,
    tally: Tally,
) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(base_url=base, session=session, timeout=60)
        tally.cases += 1
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        except (Exception, BaseExceptionGroup) as failure:  # a schemathesis Failure, or FailureGroup
            tally.failures.setdefault(
                name, f"{response.status_code} {case.method} {case.formatted_path}: {str(failure)[:300]}"
            )

    run()


@pytest.mark.timeout(3600)
def test_fuzzing_every_operation_finds_no_server_error_and_no_response_off_its_schema(world: World) -> None:
    tally = Tally()
    started = time.monotonic()
    for service, login in (
        ("identity", "quantri"),
        ("grades", "quantri"),
        ("grades", "gv.toan"),
        ("signing", "quantri"),
    ):
        fuzz(world, service, login, tally)
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    print(
        f"\nfuzz: {tally.cases} cases ({EXAMPLES} examples per operation) "
        f"in {time.monotonic() - started:.0f} s, "
        f"{server_errors} with a 5xx; statuses {dict(sorted(tally.statuses.items()))}; "
        f"{len(tally.excluded)} operations excluded; slowest: "
        + ", ".join(f"{name} {s:.1f} s" for name, s in sorted(tally.seconds.items(), key=lambda i: -i[1])[:5])
    )
    assert not tally.failures, f"{len(tally.failures)} operations failed:\n" + "\n".join(
        f"{name}: {failure}" for name, failure in sorted(tally.failures.items())
    )
