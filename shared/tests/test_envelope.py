"""The envelope and contracts: what a consumer accepts and what it rejects, with the reason."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from hbs_shared.events.contracts import SigningCompleted, SigningFailed
from hbs_shared.events.envelope import EventRegistry, EventRejected, decode_event, make_envelope

REGISTRY = EventRegistry(SigningCompleted, SigningFailed)


def completed() -> SigningCompleted:
    return SigningCompleted(
        request_id=uuid.uuid4(),
        subject_id=uuid.uuid4(),
        document_id=uuid.uuid4(),
        sha256="a" * 64,
        signer_user_id=uuid.uuid4(),
        signer_role="subject_teacher",
        certificate_sha256="b" * 64,
        signed_at=datetime.now(UTC),
    )


def raw(**changes: object) -> bytes:
    body = make_envelope(completed(), "thpt-a").model_dump(mode="json")
    body.update(changes)
    return json.dumps(body).encode()


def test_valid_event_round_trips_to_its_typed_payload() -> None:
    envelope, payload = decode_event(raw(), REGISTRY)
    assert envelope.type == "signing.completed"
    assert isinstance(payload, SigningCompleted)
    assert payload.partition_key() == str(payload.subject_id)


def test_bad_json_is_rejected_as_not_json() -> None:
    with pytest.raises(EventRejected, match="not valid JSON"):
        decode_event(b"{not json", REGISTRY)


def test_unsupported_version_is_rejected_naming_the_version() -> None:
    with pytest.raises(EventRejected, match=r"unsupported version 2 of event type 'signing\.completed'"):
        decode_event(raw(version=2), REGISTRY)


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(EventRejected, match=r"unknown event type 'grades\.nothing'"):
        decode_event(raw(type="grades.nothing"), REGISTRY)


def test_missing_payload_field_is_rejected_naming_the_field() -> None:
    body = json.loads(raw())
    del body["payload"]["sha256"]
    with pytest.raises(EventRejected, match=r"payload\.sha256: Field required"):
        decode_event(json.dumps(body).encode(), REGISTRY)


def test_missing_envelope_field_is_rejected_naming_the_field() -> None:
    body = json.loads(raw())
    del body["event_id"]
    with pytest.raises(EventRejected, match="event_id: Field required"):
        decode_event(json.dumps(body).encode(), REGISTRY)


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(EventRejected, match="occurred_at"):
        decode_event(raw(occurred_at="2026-11-28T10:00:00"), REGISTRY)
