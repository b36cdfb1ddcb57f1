"""Issue 12: signing's consumer held the database's write lock for a whole signature, so under
load `POST /activations` answered 500 ("database is locked"). A request is now checked, signed
and settled in separate short steps: nothing waits for a signature in progress."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from hbs_shared.events.contracts import SheetSigningRequestedV2
from hbs_shared.messaging.consumer import Outcome
from hbs_signing.samples import score_sheet_content

from .test_http import Harness
from .test_http import signing as signing  # the module's app, fixture re-used

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.hsm]

SLOW_SIGNATURE_SECONDS = 6.0
"""Longer than SQLite's busy timeout (5 s): a lock held across it fails the activation."""


async def _activation(signing: Harness, user: uuid.UUID, subject: uuid.UUID, pin: str) -> Any:
    headers = signing.headers(user)
    assert (await signing.client.put("/signing-pin", json={"pin": pin}, headers=headers)).status_code == 204
    return await signing.client.post(
        "/activations", json={"pin": pin, "subject_ids": [str(subject)]}, headers=headers
    )


async def test_an_activation_does_not_wait_for_a_signature_in_progress(
    signing: Harness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    teacher, colleague = uuid.uuid4(), uuid.uuid4()
    sheet = score_sheet_content(6)
    activation = (await _activation(signing, teacher, sheet.sheet_id, "613724")).json()["activation_id"]
    colleague_headers = signing.headers(colleague)
    assert (
        await signing.client.put("/signing-pin", json={"pin": "802461"}, headers=colleague_headers)
    ).status_code == 204

    # A slow token (an HSM under load): the signature takes longer than SQLite's lock timeout.
    token = signing.app.state.signing_requests.token
    original = token.sign_pdf
    signing_started = asyncio.Event()

    async def slow_sign_pdf(*args: Any, **kwargs: Any) -> bytes:
        signing_started.set()
        await asyncio.sleep(SLOW_SIGNATURE_SECONDS)
        signed: bytes = await original(*args, **kwargs)
        return signed

    monkeypatch.setattr(token, "sign_pdf", slow_sign_pdf)
    request = SheetSigningRequestedV2(
        request_id=uuid.uuid4(),
        activation_id=uuid.UUID(activation),
        signer_user_id=teacher,
        signer_name="Nguyễn Thị Hoa",
        signer_role="subject_teacher",
        sheet=sheet,
    )
    feeding = asyncio.create_task(signing.feed(request))
    await asyncio.wait_for(signing_started.wait(), 30)

    # A colleague activates while the signature is being made: answered at once, not after it.
    started = time.monotonic()
    made = await signing.client.post(
        "/activations",
        json={"pin": "802461", "subject_ids": [str(uuid.uuid4())]},
        headers=colleague_headers,
    )
    waited = time.monotonic() - started
    assert made.status_code == 201, made.text
    assert waited < 2.0, f"the activation waited {waited:.1f} s for the signature"

    assert await feeding == Outcome.applied
    handled = await signing.handled(request.request_id, timeout=60)
    assert handled.outcome == "completed", handled.reason
    # Delivered again (a new event id, the same request): settled once, nothing signed again.
    assert await signing.feed(request) == Outcome.applied
    assert (await signing.handled(request.request_id)).document_id == handled.document_id
