"""Hole 4 of the security issue through the running system: the services limit the real client
(the portal passes its address), so one person's burst of /verify calls does not lock out
everyone else who reaches the services through the portal."""

from __future__ import annotations

import httpx
import pytest

from hbs_shared.devstack.drive import SystemClient

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]


def browser_at(system: SystemClient, address: str) -> httpx.Client:
    """A browser whose connections come from `address` (any 127.x.y.z is this machine)."""
    return httpx.Client(
        base_url=system.stack.url("portal"),
        transport=httpx.HTTPTransport(local_address=address),
        timeout=30,
    )


def test_two_browsers_are_limited_separately_on_verify(system: SystemClient) -> None:
    with browser_at(system, "127.0.0.3") as eager, browser_at(system, "127.0.0.4") as other:
        statuses = [eager.get("/verify/KHONGCO1").status_code for _ in range(40)]
        assert 429 in statuses, statuses  # signing's limit (30 a minute per client) reached
        # The other person, through the same portal, is not limited by the first one's burst.
        answer = other.get("/verify/KHONGCO2")
        assert answer.status_code != 429, answer.text
        assert "Quá nhiều yêu cầu" not in answer.text
