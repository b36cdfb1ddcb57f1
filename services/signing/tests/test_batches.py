"""Batches from the consumer: queued, signed by worker processes, settled once per request even
when a worker is killed or the service dies mid-batch; progress counted and announced."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import uuid
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select

from hbs_devtools.statements import statements
from hbs_shared.db import Database
from hbs_shared.events.contracts import RecordSigningRequested
from hbs_shared.events.envelope import EventEnvelope, EventPayload, make_envelope
from hbs_shared.messaging.tables import outbox
from hbs_signing.activations.service import ActivationScope
from hbs_signing.batches.repository import BatchItemRepository
from hbs_signing.batches.service import MAX_ATTEMPTS, BatchRunner
from hbs_signing.devca import DevelopmentCA
from hbs_signing.models import BatchItem, SignedDocument, SigningRequest
from hbs_signing.requests.service import SigningRequestService
from hbs_signing.samples import year_record_content
from hbs_signing.token import TokenConfig

pytestmark = [pytest.mark.db, pytest.mark.hsm]
PIN = "246810"
SCHOOL = "thpt-test"


class Crash(Exception):
    """The service dies while storing a chunk (the transaction is never committed)."""


async def batch_activation(
    service: SigningRequestService, db: Database, user: uuid.UUID, batch_id: uuid.UUID
) -> uuid.UUID:
    assert service.activations is not None
    async with db.transaction() as session:
        await service.activations.set_pin(session, SCHOOL, user, PIN, None)
    async with db.transaction() as session:
        activation = await service.activations.activate(
            session, SCHOOL, user, PIN, ActivationScope(frozenset(), batch_id)
        )
        return activation.id


def homeroom_request(
    user: uuid.UUID, activation: uuid.UUID, batch_id: uuid.UUID, n: int
) -> RecordSigningRequested:
    return RecordSigningRequested(
        request_id=uuid.uuid4(),
        activation_id=activation,
        batch_id=batch_id,
        signer_user_id=user,
        signer_name="Phạm Quốc Dũng",
        signer_role="homeroom_teacher",
        record=year_record_content(name=f"Học sinh số {n}"),
    )


def run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout


async def outbox_events(db: Database, event_type: str) -> list[dict[str, Any]]:
    async with db.transaction() as session:
        bodies = (
            await session.execute(
                select(outbox.c.body).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
            )
        ).scalars()
        return [dict(body["payload"]) for body in bodies]


async def test_a_batch_survives_a_killed_worker_and_a_crash_and_signs_each_record_once(
    signing_db: Database,
    signing_service: SigningRequestService,
    token_config: TokenConfig,
    dev_ca: DevelopmentCA,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    teacher, batch_id = uuid.uuid4(), uuid.uuid4()
    activation = await batch_activation(signing_service, signing_db, teacher, batch_id)
    requests = [homeroom_request(teacher, activation, batch_id, n) for n in range(10)]
    # One request of the batch under someone else's activation: refused, counted as failed.
    intruder = homeroom_request(uuid.uuid4(), activation, batch_id, 99)
    intruder = intruder.model_copy(update={"signer_user_id": teacher, "activation_id": uuid.uuid4()})
    now = datetime.now(UTC)

    def runner() -> BatchRunner:
        # A new runner is what a restarted service has: nothing but the database carries over.
        return BatchRunner(signing_db, signing_service, token_config, workers=2, chunk_size=2)

    first = runner()
    async with signing_db.transaction() as session:
        for request in [*requests, intruder]:
            await first.enqueue(session, SCHOOL, request, now)
    async with signing_db.transaction() as session:
        await first.enqueue(session, SCHOOL, requests[0], now)  # redelivered: queued once
        progress = await BatchItemRepository().progress(session, SCHOOL, batch_id)
    assert progress is not None
    assert (progress.total, progress.done, progress.failed) == (11, 0, 0)

    # 1. A worker process is killed after the first chunk is stored.
    store = first._store
    stored_chunks = 0
    # Processes other tests left behind are not this batch's workers: kill only a new one.
    earlier = {child.pid for child in multiprocessing.active_children()}

    async def store_then_kill_a_worker(*args: Any, **kwargs: Any) -> None:
        nonlocal stored_chunks
        await store(*args, **kwargs)
        stored_chunks += 1
        if stored_chunks == 1:
            worker = next(c for c in multiprocessing.active_children() if c.pid not in earlier)
            os.kill(worker.pid or 0, signal.SIGKILL)

    monkeypatch.setattr(first, "_store", store_then_kill_a_worker)
    with pytest.raises(BrokenProcessPool):
        await first.run_once()
    async with signing_db.transaction() as session:
        after_kill = await BatchItemRepository().progress(session, SCHOOL, batch_id)
    assert after_kill is not None
    assert after_kill.failed == 1
    assert 2 <= after_kill.done < 10

    # 2. The service dies while storing the next chunk: nothing of that chunk is committed.
    complete = signing_service.complete_stored  # the workers wrote the files
    completed_calls = 0

    async def complete_then_crash(*args: Any, **kwargs: Any) -> None:
        nonlocal completed_calls
        completed_calls += 1
        if completed_calls == 2:
            raise Crash
        await complete(*args, **kwargs)

    monkeypatch.setattr(signing_service, "complete_stored", complete_then_crash)
    with pytest.raises(Crash):
        await runner().run_once()
    monkeypatch.undo()
    async with signing_db.transaction() as session:
        after_crash = await BatchItemRepository().progress(session, SCHOOL, batch_id)
    assert after_crash is not None
    assert after_kill.done <= after_crash.done < 10

    # 3. The restarted service signs exactly what is left.
    assert await runner().run_once() == 10 - after_crash.done
    assert await runner().run_once() == 0

    async with signing_db.transaction() as session:
        final = await BatchItemRepository().progress(session, SCHOOL, batch_id)
        states = Counter((await session.execute(select(BatchItem.state))).scalars())
        documents = list(
            (
                await session.execute(
                    select(SignedDocument).where(
                        SignedDocument.request_id.in_([r.request_id for r in requests])
                    )
                )
            ).scalars()
        )
        outcomes = Counter((await session.execute(select(SigningRequest.outcome))).scalars())
    assert final is not None
    assert (final.total, final.done, final.failed) == (11, 10, 1)
    assert states == {"completed": 10, "failed": 1}
    assert outcomes == {"completed": 10, "failed": 1}
    assert len(documents) == 10
    completed_events = await outbox_events(signing_db, "signing.completed")
    completed = Counter(e["request_id"] for e in completed_events)
    assert completed == {str(r.request_id): 1 for r in requests}, "each request is announced exactly once"
    failed = await outbox_events(signing_db, "signing.failed")
    assert [e["request_id"] for e in failed] == [str(intruder.request_id)]
    # Replies name the subject's kind (grades routes them by it).
    assert {e["subject_kind"] for e in [*completed_events, *failed]} == {"record"}
    progress_events = await outbox_events(signing_db, "signing.batch.progress")
    assert progress_events[-1] == {
        "batch_id": str(batch_id),
        "signer_user_id": str(teacher),
        "total": 11,
        "done": 10,
        "failed": 1,
    }
    assert [e["done"] for e in progress_events] == sorted(e["done"] for e in progress_events)

    # Each stored version is the record, rendered with its own code, signed B-LT by the teacher.
    for document in documents:
        pdf = signing_service.store.get(document.sha256)
        assert document.signature_count == 1
        path = tmp_path / f"{document.id}.pdf"
        path.write_bytes(pdf)
        text = run("pdftotext", str(path), "-")
        assert document.printed_code is not None
        assert document.printed_code in text
    reader = PdfFileReader(BytesIO(pdf))
    assert "/DSS" in reader.root
    status = await async_validate_pdf_signature(
        reader.embedded_signatures[0],
        ValidationContext(trust_roots=[asn1_x509.Certificate.load(dev_ca.root_der)]),
    )
    assert status.bottom_line
    assert status.timestamp_validity is not None
    report = run("pdfsig", str(path))
    assert "Signature is Valid" in report
    assert "Total document signed" in report


async def subject_activation(
    service: SigningRequestService, db: Database, user: uuid.UUID, subject: uuid.UUID
) -> uuid.UUID:
    assert service.activations is not None
    async with db.transaction() as session:
        if not (await service.activations.has_pin(session, SCHOOL, user))["set"]:
            await service.activations.set_pin(session, SCHOOL, user, PIN, None)
    async with db.transaction() as session:
        activation = await service.activations.activate(
            session, SCHOOL, user, PIN, ActivationScope(frozenset({subject}), None)
        )
        return activation.id


async def test_the_principals_batch_adds_the_seal_and_closes_each_record(
    signing_db: Database,
    signing_service: SigningRequestService,
    token_config: TokenConfig,
    dev_ca: DevelopmentCA,
) -> None:
    from hbs_signing.verification.expectation import expectation_for
    from hbs_signing.verification.service import Verifier

    # Two records signed by the homeroom teacher and the vice-principal, one at a time.
    earlier: dict[uuid.UUID, tuple[uuid.UUID, bytes]] = {}
    for n in range(2):
        record_id, base, _ = await _signed_twice(signing_service, signing_db, n)
        async with signing_db.transaction() as session:
            document = await session.get(SignedDocument, base)
        assert document is not None
        earlier[record_id] = (base, signing_service.store.get(document.sha256))

    # The principal signs both in one batch: each gets the principal's signature and the seal.
    principal, batch_id = uuid.uuid4(), uuid.uuid4()
    activation = await batch_activation(signing_service, signing_db, principal, batch_id)
    runner = BatchRunner(signing_db, signing_service, token_config, workers=2, chunk_size=1)
    requests = []
    async with signing_db.transaction() as session:
        for record_id, (base_id, _) in earlier.items():
            # Only the ids matter for a later signature: the document is the stored version.
            request = RecordSigningRequested(
                request_id=uuid.uuid4(),
                activation_id=activation,
                batch_id=batch_id,
                signer_user_id=principal,
                signer_name="Trần Văn Minh",
                signer_role="principal",
                base_document_id=base_id,
                record=year_record_content().model_copy(update={"record_id": record_id}),
            )
            requests.append(request)
            await runner.enqueue(session, SCHOOL, request, datetime.now(UTC))
    assert await runner.run_once() == 2

    verifier = Verifier(signing_service.store, [dev_ca.root_certificate], dev_ca)
    for request in requests:
        async with signing_db.transaction() as session:
            handled = await session.get(SigningRequest, request.request_id)
            assert handled is not None
            assert handled.outcome == "completed", handled.reason
            document = await session.get(SignedDocument, handled.document_id)
            assert document is not None
            expectation = await expectation_for(session, document)
        assert document.sealed
        assert document.signature_count == 4
        pdf = signing_service.store.get(document.sha256)
        assert request.base_document_id is not None
        assert pdf.startswith(earlier[request.record.record_id][1]), "incremental: earlier version untouched"
        reader = PdfFileReader(BytesIO(pdf))
        kinds = [(s.field_name, s.sig_object_type) for s in reader.embedded_signatures]
        assert kinds[:4] == [
            ("Sig1_GVCN", "/Sig"),
            ("Sig2_PHT", "/Sig"),
            ("Sig3_HT", "/Sig"),
            ("Sig4_DauTruong", "/Sig"),
        ]
        assert kinds[4][1] == "/DocTimeStamp"
        report = await asyncio.to_thread(verifier.verify, pdf, expectation)
        assert report["verdict"] == "valid", report
        assert [s["role"] for s in report["signatures"][:4]] == [
            "homeroom_teacher",
            "vice_principal",
            "principal",
            "seal",
        ]


async def test_an_unreadable_queued_request_is_set_aside_and_the_batch_goes_on(
    signing_db: Database, signing_service: SigningRequestService, token_config: TokenConfig
) -> None:
    request_id, batch_id = uuid.uuid4(), uuid.uuid4()
    async with signing_db.transaction() as session:
        session.add(
            BatchItem(
                request_id=request_id,
                batch_id=batch_id,
                school_id=SCHOOL,
                signer_user_id=uuid.uuid4(),
                payload={"request_id": str(request_id), "signer_role": "janitor"},
                requested_at=datetime.now(UTC),
                state="pending",
            )
        )
    runner = BatchRunner(signing_db, signing_service, token_config, workers=1)

    assert await runner.run_once() == 1
    assert await runner.run_once() == 0, "not taken again"
    async with signing_db.transaction() as session:
        item = await session.get(BatchItem, request_id)
    assert item is not None
    assert item.state == "failed"


async def test_a_request_whose_runs_never_finish_is_failed_and_the_next_batch_goes_on(
    signing_db: Database, signing_service: SigningRequestService, token_config: TokenConfig
) -> None:
    """A record that crashes its worker every time would hold up every batch queued after it."""
    teacher, stuck_batch, next_batch = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stuck = homeroom_request(teacher, uuid.uuid4(), stuck_batch, 1)
    waiting = homeroom_request(teacher, uuid.uuid4(), next_batch, 2)
    runner = BatchRunner(signing_db, signing_service, token_config, workers=1)
    async with signing_db.transaction() as session:
        await runner.enqueue(session, SCHOOL, stuck, datetime.now(UTC))
    async with signing_db.transaction() as session:
        item = await session.get(BatchItem, stuck.request_id)
        assert item is not None
        item.attempts = MAX_ATTEMPTS  # every earlier run died before settling it
    async with signing_db.transaction() as session:
        await runner.enqueue(session, SCHOOL, waiting, datetime.now(UTC))

    assert await runner.run_once() == 1  # the stuck batch, taken one last time and given up
    async with signing_db.transaction() as session:
        given_up = await session.get(BatchItem, stuck.request_id)
        progress = await BatchItemRepository().progress(session, SCHOOL, stuck_batch)
    assert given_up is not None
    assert (given_up.state, given_up.attempts) == ("failed", MAX_ATTEMPTS + 1)
    assert progress is not None
    assert (progress.total, progress.done, progress.failed) == (1, 0, 1)
    failed = [
        e
        for e in await outbox_events(signing_db, "signing.failed")
        if e["request_id"] == str(stuck.request_id)
    ]
    assert len(failed) == 1
    assert "interrupted 5 times" in failed[0]["reason"]
    # The next batch is now the oldest pending one (its own activation check refuses it here).
    assert await runner.run_once() == 1
    async with signing_db.transaction() as session:
        taken = await session.get(BatchItem, waiting.request_id)
    assert taken is not None
    assert (taken.state, taken.attempts) == ("failed", 1)


async def _signed_twice(
    service: SigningRequestService, db: Database, n: int
) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    """A record signed by the homeroom teacher and the vice-principal: (record, document, versions)."""
    record = year_record_content(name=f"Học sinh số {n}")
    base: uuid.UUID | None = None
    versions: list[uuid.UUID] = []
    for role, name in (("homeroom_teacher", "Phạm Quốc Dũng"), ("vice_principal", "Lê Thị Thu Hà")):
        user = uuid.uuid5(uuid.NAMESPACE_URL, role)
        request = RecordSigningRequested(
            request_id=uuid.uuid4(),
            activation_id=await subject_activation(service, db, user, record.record_id),
            signer_user_id=user,
            signer_name=name,
            signer_role=role,  # type: ignore[arg-type]
            base_document_id=base,
            record=record,
        )
        async with db.transaction() as session:
            await service.sign_record(session, SCHOOL, request, datetime.now(UTC))
            handled = await session.get(SigningRequest, request.request_id)
        assert handled is not None
        assert handled.outcome == "completed", handled.reason
        base = handled.document_id
        assert base is not None
        versions.append(base)
    assert base is not None
    return record.record_id, base, versions


async def _point_at_a_file_with_one_signature(
    service: SigningRequestService, db: Database, versions: list[uuid.UUID]
) -> None:
    """The record of the second version says 2 signatures; its stored file now carries 1 (a file
    swapped in the store: the DESIGN.md trap the count check exists for)."""
    async with db.transaction() as session:
        first = await session.get(SignedDocument, versions[0])
        second = await session.get(SignedDocument, versions[1])
        assert first is not None
        assert second is not None
        assert second.signature_count == 2
        second.sha256 = service.store.put(service.store.get(first.sha256) + b"\n% swapped\n")


async def _principal_batch(
    service: SigningRequestService,
    db: Database,
    token_config: TokenConfig,
    principal: uuid.UUID,
    bases: list[tuple[uuid.UUID, uuid.UUID]],
) -> tuple[BatchRunner, dict[uuid.UUID, uuid.UUID]]:
    """The principal's step 4 on these (record, base document) pairs, queued in one batch under
    one activation: the runner (one worker) and each record's request id."""
    batch_id = uuid.uuid4()
    activation = await batch_activation(service, db, principal, batch_id)
    runner = BatchRunner(db, service, token_config, workers=1, chunk_size=2)
    requests = {}
    async with db.transaction() as session:
        for record_id, base_id in bases:
            request = RecordSigningRequested(
                request_id=uuid.uuid4(),
                activation_id=activation,
                batch_id=batch_id,
                signer_user_id=principal,
                signer_name="Trần Văn Minh",
                signer_role="principal",
                base_document_id=base_id,
                record=year_record_content().model_copy(update={"record_id": record_id}),
            )
            requests[record_id] = request.request_id
            await runner.enqueue(session, SCHOOL, request, datetime.now(UTC))
    return runner, requests


async def test_a_stored_file_with_fewer_signatures_than_its_record_is_refused_in_a_batch_and_alone(
    signing_db: Database, signing_service: SigningRequestService, token_config: TokenConfig
) -> None:
    swapped_record, swapped_doc, swapped_versions = await _signed_twice(signing_service, signing_db, 1)
    good_record, good_doc, _ = await _signed_twice(signing_service, signing_db, 2)
    alone_record, alone_doc, alone_versions = await _signed_twice(signing_service, signing_db, 3)
    await _point_at_a_file_with_one_signature(signing_service, signing_db, swapped_versions)
    await _point_at_a_file_with_one_signature(signing_service, signing_db, alone_versions)

    # In a batch: the worker counts as it signs; the swapped one fails, the other is sealed.
    principal = uuid.uuid4()
    runner, requests = await _principal_batch(
        signing_service,
        signing_db,
        token_config,
        principal,
        [(swapped_record, swapped_doc), (good_record, good_doc)],
    )
    await runner.run_once()
    async with signing_db.transaction() as session:
        swapped = await session.get(SigningRequest, requests[swapped_record])
        good = await session.get(SigningRequest, requests[good_record])
    assert good is not None
    assert good.outcome == "completed", good.reason
    assert swapped is not None
    assert swapped.outcome == "failed"
    assert "carries 1 signatures, its record says 2" in (swapped.reason or "")

    # Alone (one request, the token in this process): the same refusal, before any signature.
    request = RecordSigningRequested(
        request_id=uuid.uuid4(),
        activation_id=await subject_activation(signing_service, signing_db, principal, alone_record),
        signer_user_id=principal,
        signer_name="Trần Văn Minh",
        signer_role="principal",
        base_document_id=alone_doc,
        record=year_record_content().model_copy(update={"record_id": alone_record}),
    )
    async with signing_db.transaction() as session:
        await signing_service.sign_record(session, SCHOOL, request, datetime.now(UTC))
        handled = await session.get(SigningRequest, request.request_id)
    assert handled is not None
    assert handled.outcome == "failed"
    assert "carries 1 signatures, its record says 2" in (handled.reason or "")


async def test_a_base_file_changed_in_the_store_fails_its_request_only_and_the_worker_stores_the_rest(
    signing_db: Database, signing_service: SigningRequestService, token_config: TokenConfig
) -> None:
    """The batch worker reads each base file from the store, checks it against its SHA-256 and
    writes the signed one there itself: the service's process moves no file."""
    broken_record, broken_doc, _ = await _signed_twice(signing_service, signing_db, 4)
    good_record, good_doc, _ = await _signed_twice(signing_service, signing_db, 5)
    async with signing_db.transaction() as session:
        broken = await session.get(SignedDocument, broken_doc)
    assert broken is not None
    path = signing_service.store._path(broken.sha256)
    path.write_bytes(path.read_bytes().replace(b"/Type /Catalog", b"/Type  /Catalog", 1))

    runner, requests = await _principal_batch(
        signing_service,
        signing_db,
        token_config,
        uuid.uuid4(),
        [(broken_record, broken_doc), (good_record, good_doc)],
    )
    assert await runner.run_once() == 2
    async with signing_db.transaction() as session:
        failed = await session.get(SigningRequest, requests[broken_record])
        good = await session.get(SigningRequest, requests[good_record])
        assert failed is not None
        assert good is not None
        assert good.document_id is not None
        sealed = await session.get(SignedDocument, good.document_id)
    assert failed.outcome == "failed"
    assert "the base document cannot be read" in (failed.reason or "")
    assert "corrupted" in (failed.reason or "")
    assert good.outcome == "completed", good.reason
    assert sealed is not None
    assert sealed.sealed
    stored = signing_service.store.get(sealed.sha256)  # the worker's file, checked by its hash
    assert len(stored) == sealed.size


async def test_a_runs_progress_is_announced_when_due_and_after_its_last_chunk(
    signing_db: Database,
    signing_service: SigningRequestService,
    token_config: TokenConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not one event per settled chunk (a school's step 4 made ~700 of them): at most one every
    PROGRESS_SECONDS, and the run's final counts always."""
    import hbs_signing.batches.service as batches

    monkeypatch.setattr(batches, "PROGRESS_SECONDS", 3600.0)  # never due within the run
    teacher, batch_id = uuid.uuid4(), uuid.uuid4()
    activation = await batch_activation(signing_service, signing_db, teacher, batch_id)
    runner = BatchRunner(signing_db, signing_service, token_config, workers=1, chunk_size=2)
    async with signing_db.transaction() as session:
        for n in range(6):
            await runner.enqueue(
                session, SCHOOL, homeroom_request(teacher, activation, batch_id, n), datetime.now(UTC)
            )
    assert await runner.run_once() == 6
    progress = [
        e for e in await outbox_events(signing_db, "signing.batch.progress") if e["batch_id"] == str(batch_id)
    ]
    assert [(e["total"], e["done"], e["failed"]) for e in progress] == [(6, 6, 0)]


async def test_an_activated_batch_finds_its_workers_started_and_two_signers_share_them(
    signing_db: Database, signing_service: SigningRequestService, token_config: TokenConfig
) -> None:
    """Step 4's first seconds were spent starting the workers after the first request came; now
    the activation starts them (``warm``) and any signer's batch signs on them, each worker
    preparing a signer on its first chunk."""
    runner = BatchRunner(signing_db, signing_service, token_config, workers=1, chunk_size=2, poll_seconds=0.2)
    running = asyncio.create_task(runner.run_forever())
    try:
        await asyncio.sleep(0)  # run_forever has begun: the service keeps its workers
        runner.warm()
        for _ in range(600):
            if runner._pool is not None and runner._pool.started:
                break
            await asyncio.sleep(0.1)
        pool = runner._pool
        assert pool is not None
        assert pool.started, "the workers started with no batch queued"
        workers = set(pool.executor()._processes)
        assert len(workers) == 1

        batches: list[tuple[uuid.UUID, uuid.UUID]] = []
        for _ in range(2):
            teacher, batch_id = uuid.uuid4(), uuid.uuid4()
            activation = await batch_activation(signing_service, signing_db, teacher, batch_id)
            async with signing_db.transaction() as session:
                for n in range(3):
                    request = homeroom_request(teacher, activation, batch_id, n)
                    await runner.enqueue(session, SCHOOL, request, datetime.now(UTC))
            batches.append((teacher, batch_id))
        runner.nudge()
        for _ in range(900):
            async with signing_db.transaction() as session:
                found = [await BatchItemRepository().progress(session, SCHOOL, b) for _, b in batches]
            if all(p is not None and p.done == 3 for p in found):
                break
            await asyncio.sleep(0.1)
        assert [(p.done, p.failed) if p else None for p in found] == [(3, 0), (3, 0)]
        assert runner._pool is pool, "the same pool signed both teachers' batches"
        assert set(pool.executor()._processes) == workers
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert runner._pool is None, "cancelled with the service: its workers are closed"

    async with signing_db.transaction() as session:
        documents = list((await session.execute(select(SignedDocument))).scalars())
    signers = set()
    for document in documents:
        reader = PdfFileReader(BytesIO(signing_service.store.get(document.sha256)))
        signers.add(reader.embedded_signatures[0].signer_cert.sha256)
    assert len(documents) == 6
    assert len(signers) == 2, "each teacher's documents carry that teacher's own certificate"


async def test_a_consumer_batch_asks_once_which_requests_are_known_and_queues_each_new_one_once(
    signing_db: Database, signing_service: SigningRequestService, token_config: TokenConfig
) -> None:
    teacher, batch_id, activation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    new, queued, handled = (homeroom_request(teacher, activation, batch_id, n) for n in range(3))
    runner = BatchRunner(signing_db, signing_service, token_config, workers=1)
    now = datetime.now(UTC)
    async with signing_db.transaction() as session:
        await runner.enqueue(session, SCHOOL, queued, now)  # an earlier batch of the consumer
        session.add(
            SigningRequest(
                request_id=handled.request_id,
                subject_id=handled.record.record_id,
                signer_user_id=teacher,
                outcome="signed",
            )
        )

    # The consumer's batch: the new request twice (redelivered under a new event id), the two known.
    events: list[tuple[EventEnvelope, EventPayload]] = [
        (make_envelope(e, SCHOOL), e) for e in (new, queued, new, handled)
    ]
    with statements(signing_db.engine.sync_engine) as sent:
        async with signing_db.transaction() as session:
            await runner.prepare_enqueue(session, events)
            asked = len(sent)
            for request in (new, queued, new, handled):
                await runner.enqueue(session, SCHOOL, request, now)
    selects = [n for n, s in enumerate(sent) if s.sql.upper().startswith("SELECT")]
    # Queued in a batch, handled: one query each for the whole consumer batch, none per request.
    assert len(selects) == 2, sent
    assert all(n < asked for n in selects), sent
    async with signing_db.transaction() as session:
        rows = (
            await session.execute(select(BatchItem.request_id).where(BatchItem.batch_id == batch_id))
        ).all()
    assert Counter(row[0] for row in rows) == {new.request_id: 1, queued.request_id: 1}


async def test_a_batch_run_reads_its_records_document_versions_once_and_still_refuses_a_stale_base(
    signing_db: Database, signing_service: SigningRequestService, token_config: TokenConfig
) -> None:
    good_record, good_doc, _ = await _signed_twice(signing_service, signing_db, 4)
    stale_record, _, stale_versions = await _signed_twice(signing_service, signing_db, 5)
    other_record, _, _ = await _signed_twice(signing_service, signing_db, 6)
    principal = uuid.uuid4()
    runner, requests = await _principal_batch(
        signing_service,
        signing_db,
        token_config,
        principal,
        # The stale one names its first version; the other names the good record's document.
        [(good_record, good_doc), (stale_record, stale_versions[0]), (other_record, good_doc)],
    )
    with statements(signing_db.engine.sync_engine) as sent:
        await runner.run_once()
    versions_asked = [s.sql for s in sent if "FROM documents" in s.sql]
    outcomes = {}
    async with signing_db.transaction() as session:
        for record_id, request_id in requests.items():
            handled = await session.get(SigningRequest, request_id)
            assert handled is not None
            outcomes[record_id] = (handled.outcome, handled.reason)
    assert outcomes[good_record] == ("completed", None)
    assert outcomes[stale_record][0] == "failed"
    assert "superseded by a newer version" in str(outcomes[stale_record][1])
    assert outcomes[other_record][0] == "failed"
    assert "not a signed version of this record" in str(outcomes[other_record][1])
    # One query for the three records' versions, one for the base named from another record
    # (before: two for each request, 6).
    assert len(versions_asked) == 2, versions_asked
