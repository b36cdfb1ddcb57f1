"""Issue 13 §5 through the running stack: the principal revokes a sealed record in grades under the
board's minutes; grades' event reaches signing over the broker, and anyone verifying the record by
its code, by its file, in a batch or in the school's signed status list is told it is revoked. The
record is one of the `sealed` class's (tests/conftest.py) that stay in it."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

from hbs_devtools.yearend import PRINCIPAL

from .sealed import SealedClass

pytestmark = [pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(400)]
SCHOOL = "thpt-chuyen-thai-binh"  # the stack's default school
SOURCE = "127.0.0.6"
"""The receiver's requests leave from their own loopback address: the public endpoints' limit per
address counts them apart from the other modules' verifications."""


def test_a_record_the_principal_revokes_verifies_as_revoked_everywhere(sealed: SealedClass) -> None:
    http = sealed.driver.http
    with httpx.Client(
        base_url=http.stack.url("signing"), timeout=60, transport=httpx.HTTPTransport(local_address=SOURCE)
    ) as receiver:

        def public(method: str, path: str, route: str, **kwargs: Any) -> Any:
            """Anonymous, as a receiver: the public endpoints' per-address limit is waited out."""
            deadline = time.monotonic() + 120
            while True:
                answer = receiver.request(method, path, **kwargs)
                if answer.status_code != 429 or time.monotonic() > deadline:
                    assert answer.status_code == 200, f"{route}: {answer.status_code} {answer.text[:300]}"
                    return answer.json()
                time.sleep(2)

        klass = sealed.name
        records = http.json(PRINCIPAL, "grades", "GET", f"/records/classes/{klass}", "/records/classes/{c}")
        mine = {r["student_id"]: r for r in records["records"]}
        record, other = (mine[student_id] for student_id in sealed.kept)
        assert (record["state"], other["state"]) == ("approved", "approved")
        document = http.json(
            PRINCIPAL, "signing", "GET", f"/documents/{record['document_id']}", "/documents/{id}"
        )
        code, sha256 = document["verification_code"], document["sha256"]
        pdf = http.call(
            PRINCIPAL, "signing", "GET", f"/documents/{record['document_id']}/pdf", "/documents/{id}/pdf"
        ).content
        before = public("GET", f"/verify/{code}", "/verify/{code}")
        assert (before["verdict"], before["document"]["status"]) == ("valid", "current")

        revoked = http.call(
            PRINCIPAL,
            "grades",
            "POST",
            f"/records/{record['id']}/revocation",
            "/records/{id}/revocation",
            expect=(201,),
            json={
                "expected_version": record["version"],
                "minutes_number": "03/BB-HĐ",
                "minutes_date": "2026-11-30",
                "reason": "Hội đồng nhà trường quyết định thu hồi học bạ",
            },
        ).json()
        assert revoked["state"] == "revoked"

        answer: dict[str, Any] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # grades' outbox → broker → signing's consumer
            answer = public("GET", f"/verify/{code}", "/verify/{code}")
            if answer["document"]["status"] == "revoked":
                break
            time.sleep(0.5)
        assert answer["verdict"] == "invalid", answer
        assert answer["document"]["status"] == "revoked"
        assert answer["document"]["revocation"]["minutes_number"] == "03/BB-HĐ"

        uploaded = public(
            "POST", "/verify", "/verify", content=pdf, headers={"content-type": "application/pdf"}
        )
        assert (uploaded["verdict"], uploaded["document"]["status"]) == ("invalid", "revoked")
        other_code = http.json(
            PRINCIPAL, "signing", "GET", f"/documents/{other['document_id']}", "/documents/{id}"
        )["verification_code"]
        files = [{"name": "a.pdf", "content_base64": base64.b64encode(pdf).decode()}]
        batch = public(
            "POST", "/verify/batch", "/verify/batch", json={"codes": [code, other_code], "files": files}
        )["results"]
        assert [(r["verdict"], r["document"]["status"]) for r in batch] == [
            ("invalid", "revoked"),
            ("valid", "current"),
            ("invalid", "revoked"),
        ]
        listed = public("GET", f"/status/{SCHOOL}/list.json", "/status/{school}/list.json")
        assert {e["sha256"]: e["status"] for e in listed["entries"]}[sha256] == "revoked"
