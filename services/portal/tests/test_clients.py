"""The typed clients over the one transport: headers, paths, and refusals in Vietnamese."""

from __future__ import annotations

import json

import httpx
import pytest

from hbs_portal.clients import BackendError, Caller, GradesClient, IdentityClient, SessionExpired, Transport
from hbs_shared.logging import current_correlation_id

from .conftest import problem


def _client(handler: httpx.MockTransport) -> tuple[Transport, Caller]:
    transport = Transport(client=httpx.AsyncClient(transport=handler))
    return transport, Caller(transport, "http://svc.test/", "tok", "192.0.2.5")


async def test_a_call_carries_token_correlation_and_client_address() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    transport, caller = _client(httpx.MockTransport(answer))
    await GradesClient(caller).sheets()
    await transport.close()
    (request,) = seen
    assert str(request.url) == "http://svc.test/sheets"
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["x-forwarded-for"] == "192.0.2.5"
    assert request.headers["x-correlation-id"] == current_correlation_id()


async def test_class_names_are_one_path_segment() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, json={})

    transport, caller = _client(httpx.MockTransport(answer))
    await GradesClient(caller).class_results("11 Toán/chuyên")
    await transport.close()
    assert seen == ["/results/classes/11%20To%C3%A1n%2Fchuy%C3%AAn"]


async def test_a_refusal_keeps_the_services_title_and_code() -> None:
    transport, caller = _client(
        httpx.MockTransport(lambda _r: problem(409, "Cần phê duyệt", code="approval_required"))
    )
    with pytest.raises(BackendError) as refused:
        await IdentityClient(caller).reset_totp("a")
    await transport.close()
    assert (refused.value.status, refused.value.title, refused.value.code) == (
        409,
        "Cần phê duyệt",
        "approval_required",
    )


async def test_a_refused_token_is_an_expired_session_not_a_page_error() -> None:
    transport, caller = _client(httpx.MockTransport(lambda _r: httpx.Response(401)))
    with pytest.raises(SessionExpired):
        await IdentityClient(caller).me()
    await transport.close()
    assert not issubclass(SessionExpired, BackendError)


async def test_an_unreachable_service_is_a_vietnamese_503() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    transport, caller = _client(httpx.MockTransport(down))
    with pytest.raises(BackendError) as failed:
        await GradesClient(caller).sheets()
    await transport.close()
    assert failed.value.status == 503
    assert "không phản hồi" in failed.value.title


async def test_factor_reset_requests_use_identitys_contract() -> None:
    bodies: list[tuple[str, str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append((request.method, request.url.path, json.loads(request.content or b"null")))
        return httpx.Response(
            201 if request.method == "POST" else 200, json={} if request.method == "POST" else []
        )

    transport, caller = _client(httpx.MockTransport(answer))
    identity = IdentityClient(caller)
    await identity.request_factor_reset("u1", "signing_pin", "Quên mã PIN")
    await identity.factor_resets("pending")
    await identity.approve_factor_reset("r1")
    await identity.reject_factor_reset("r2", "Không rõ lý do")
    await identity.ack_security_notice("r1")
    await transport.close()
    assert bodies == [
        ("POST", "/accounts/u1/factor-resets", {"factor": "signing_pin", "reason": "Quên mã PIN"}),
        ("GET", "/factor-resets", None),
        ("POST", "/factor-resets/r1/approve", None),
        ("POST", "/factor-resets/r2/reject", {"reason": "Không rõ lý do"}),
        ("POST", "/me/security-notices/r1/ack", None),
    ]
