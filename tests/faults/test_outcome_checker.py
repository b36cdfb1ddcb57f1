"""The fault tests' checker must be able to fail: broken outcomes built by hand (a record sealed
twice, a count that differs, a stuck request, a PDF whose one signer signs two roles, a PDF whose
signed bytes changed) are each found, and a sound one passes. The plan is drawn from its seed and
fits its delays to the steps, and `run_steps` carries a fault whose step ended first to the next
step that can take it (steps and injector made up here). No stack: milliseconds."""

from __future__ import annotations

import datetime
import functools
import hashlib
import io
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fpdf import FPDF
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from hbs_devtools.faults import KINDS, Fault, FaultKind, FaultLog, FaultPlan, Injected, run_steps
from hbs_devtools.outcome import Document, Record, Sheet, Snapshot, judge, pdf_problems, read_pdf


@functools.cache
def _signer(name: str) -> signers.SimpleSigner:
    """A made-up signer (self-signed RSA certificate), made once per name."""
    folder = Path(tempfile.mkdtemp(prefix="hbs-faults-"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (folder / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    signer = signers.SimpleSigner.load(str(folder / f"{name}.key"), str(folder / f"{name}.crt"))
    assert signer is not None
    return signer


def _signed(by: list[tuple[str, signers.SimpleSigner]]) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    content = bytes(pdf.output())
    for field, signer in by:
        out = io.BytesIO()
        signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(content)),
            signers.PdfSignatureMetadata(field_name=field),
            signer=signer,
            output=out,
        )
        content = out.getvalue()
    return content


def test_a_pdf_whose_one_signer_signs_two_roles_is_found() -> None:
    teacher, vice = _signer("teacher"), _signer("vice")
    sound = read_pdf(_signed([("Sig1_GVCN", teacher), ("Sig2_PHT", vice)]))
    assert sound.fields == ("Sig1_GVCN", "Sig2_PHT")
    assert pdf_problems(sound, ("Sig1_GVCN", "Sig2_PHT"), sealed=False) == []

    twice = read_pdf(_signed([("Sig1_GVCN", teacher), ("Sig2_PHT", teacher)]))
    problems = pdf_problems(twice, ("Sig1_GVCN", "Sig2_PHT"), sealed=False)
    assert problems == ["role signed twice: one certificate signed Sig1_GVCN, Sig2_PHT"]
    extra = pdf_problems(sound, ("Sig1_GVCN",), sealed=False)
    assert extra == ["signature fields ['Sig1_GVCN', 'Sig2_PHT'], expected ['Sig1_GVCN']"]
    assert pdf_problems(sound, ("Sig1_GVCN", "Sig2_PHT"), sealed=True) == [
        "0 document timestamps, expected 1"
    ]


def test_a_pdf_changed_under_its_signature_is_found() -> None:
    content = _signed([("Sig1_GVCN", _signer("teacher"))])
    # A byte inside the signed range (the PDF header's comment line), not in /Contents.
    at = content.index(b"%PDF-") + 6
    forged = content[:at] + bytes([content[at] ^ 1]) + content[at + 1 :]
    assert read_pdf(forged).broken == ("Sig1_GVCN",)
    assert read_pdf(content).broken == ()


def _id() -> str:
    return uuid.uuid4().hex


@functools.cache
def _stand_ins() -> tuple[bytes, list[bytes]]:
    """A signed sheet and a record after steps 2, 3 and 4, signed with made-up certificates (made
    once: signing is the slow part); what the checker reads from them is the same as from ours."""
    people = [_signer(n) for n in ("teacher", "homeroom", "vice", "principal", "seal")]
    fields = ("Sig1_GVCN", "Sig2_PHT", "Sig3_HT", "Sig4_DauTruong")
    records = [_signed(list(zip(fields[:n], people[1 : n + 1], strict=True))) for n in (1, 2, 4)]
    return _signed([("Sig1_GVBM", people[0])]), records


@pytest.fixture
def sound() -> tuple[Snapshot, dict[str, bytes]]:
    """One class's outcome as it should be: a signed sheet, a sealed record, three record
    documents (homeroom, vice-principal, principal), every outbox empty."""
    sheet_pdf, record_pdfs = _stand_ins()
    pdfs = {hashlib.sha256(p).hexdigest(): p for p in (sheet_pdf, *record_pdfs)}
    sheet_id, record_id = _id(), _id()
    documents = [
        Document(
            _id(), hashlib.sha256(sheet_pdf).hexdigest(), "score_sheet", sheet_id, "subject_teacher", 1, False
        )
    ]
    for role, pdf, count in zip(
        ("homeroom_teacher", "vice_principal", "principal"), record_pdfs, (1, 2, 4), strict=True
    ):
        documents.append(
            Document(
                _id(),
                hashlib.sha256(pdf).hexdigest(),
                "year_record",
                record_id,
                role,
                count,
                role == "principal",
            )
        )
    snapshot = Snapshot(
        sheets=[Sheet(sheet_id, "10A", "signed", documents[0].id, documents[0].sha256)],
        records=[Record(record_id, "10A", "approved", documents[-1].id, documents[-1].sha256, True)],
        documents=documents,
        open_batch_items=0,
        retaken_batch_items=0,
        unsent={"grades": 0, "signing": 0},
    )
    return snapshot, pdfs


def _judge(snapshot: Snapshot, pdfs: dict[str, bytes]) -> list[str]:
    outcome = judge(snapshot, lambda sha: pdfs[sha])
    # The stand-in PDFs carry no document timestamp: that one expected finding is not under test.
    return [p for p in outcome.problems(100) if "document timestamps" not in p]


def test_a_sound_outcome_passes(sound: tuple[Snapshot, dict[str, bytes]]) -> None:
    snapshot, pdfs = sound
    assert _judge(snapshot, pdfs) == []
    assert judge(snapshot, lambda sha: pdfs[sha]).counts["records_sealed"] == 1


def test_a_record_sealed_twice_is_a_duplicate(sound: tuple[Snapshot, dict[str, bytes]]) -> None:
    snapshot, pdfs = sound
    again = replace(snapshot.documents[-1], id=_id())
    snapshot.documents.append(again)
    found = _judge(snapshot, pdfs)
    record = snapshot.records[0].id
    assert f"duplicated: principal signed {record} 2 times (stored documents)" in found
    assert f"duplicated: record {record} sealed 2 times" in found
    assert "mismatched: grades has 1 records approved, signing 2 sealed" in found


def test_a_record_grades_lost_and_a_stuck_queue_are_found(sound: tuple[Snapshot, dict[str, bytes]]) -> None:
    snapshot, pdfs = sound
    snapshot.records[0] = replace(snapshot.records[0], state="signing_principal")
    snapshot.open_batch_items, snapshot.unsent["grades"] = 3, 2
    found = _judge(snapshot, pdfs)
    record = snapshot.records[0].id
    assert f"lost: record {record} (10A) is signing_principal" in found
    assert f"stuck: record {record} (10A) still signing_principal" in found
    assert "stuck: 3 batch requests still pending in signing" in found
    assert "stuck: 2 events unsent in grades's outbox" in found
    assert "mismatched: grades has 0 records approved, signing 1 sealed" in found


def test_a_sheet_signing_never_stored_is_lost(sound: tuple[Snapshot, dict[str, bytes]]) -> None:
    snapshot, pdfs = sound
    del snapshot.documents[0]
    found = _judge(snapshot, pdfs)
    sheet = snapshot.sheets[0]
    assert f"lost: sheet {sheet.id}: document {sheet.document_id} is not in signing" in found
    assert "mismatched: grades has 1 sheets signed, signing 0 sheet documents" in found


def test_the_plan_is_drawn_from_its_seed() -> None:
    plan = FaultPlan.make(12, 24)
    assert plan == FaultPlan.make(12, 24)
    assert plan != FaultPlan.make(13, 24)
    assert len(plan.faults) == 24
    assert {f.kind for f in plan.faults} == set(KINDS)
    assert all(f.step in (2, 3, 4) for f in plan.faults if f.kind == "kill_worker")
    assert [f.step for f in plan.faults] == sorted(f.step for f in plan.faults)
    # Shared by how many each step can take, so that few land in a step that ends first.
    assert Counter(f.step for f in plan.faults) == {1: 10, 2: 10, 3: 2, 4: 2}
    assert {f.kind for f in FaultPlan.make(12, 5, kinds=("kill_grades",)).faults} == {"kill_grades"}
    assert {f.step for f in FaultPlan.make(12, 5, kinds=("kill_worker",)).faults} <= {2, 3, 4}


def test_the_short_steps_get_short_delays() -> None:
    # STEP_SECONDS shared by the step's faults, within 0.3 s and 3 s: step 1 (10 faults in ~10 s)
    # at most 1 s, the long step 2 and steps 3 and 4 (2 faults each) the whole 3 s.
    for seed in range(20):
        plan = FaultPlan.make(seed, 24)
        bounds = {1: 1.0, 2: 3.0, 3: 3.0, 4: 3.0}
        assert all(0.3 <= f.delay <= bounds[f.step] for f in plan.faults), plan
    assert max(f.delay for f in FaultPlan.make(12, 24).for_step(2)) == 3.0
    # The full run bounds them at 1 s (`make test-faults`: its step 4 lasts under 3 s).
    assert all(
        0.3 <= f.delay <= 1.0 for seed in range(20) for f in FaultPlan.make(seed, 24, max_delay=1.0).faults
    )
    # One fault a step keeps the whole 3 s, and so its plan.
    assert [str(f) for f in FaultPlan.make(12, 4).faults] == [
        "#1 step 1 kill_signing after 0.7 s",
        "#2 step 2 kill_worker after 0.3 s",
        "#3 step 3 kill_grades after 1.3 s",
        "#4 step 4 restart_broker after 1.0 s",
    ]
    # The CI slice's steps 3 and 4 last about a second: it draws its delays within 0.3 s.
    assert [str(f) for f in FaultPlan.make(12, 4, max_delay=0.3, min_delay=0.0).faults] == [
        "#1 step 1 kill_signing after 0.0 s",
        "#2 step 2 kill_worker after 0.0 s",
        "#3 step 3 kill_grades after 0.1 s",
        "#4 step 4 restart_broker after 0.1 s",
    ]
    assert all(
        0.0 <= f.delay <= 0.3
        for seed in range(50)
        for f in FaultPlan.make(seed, 4, max_delay=0.3, min_delay=0.0).faults
    )
    # Never packed closer than 0.8 s, however many faults.
    assert max(f.delay for f in FaultPlan.make(12, 200).for_step(1)) <= 0.8
    assert {f.delay for f in FaultPlan.make(12, 200).for_step(1)} > {0.3}


class _Injector:
    """Injects nothing: writes down which fault went in which step. Steps are made up: one in
    `ends` is busy until the run's injections reach its count there, then ends; any other idles
    `idle` seconds (never busy) and ends."""

    def __init__(self, ends: dict[int, int]) -> None:
        self.log = FaultLog()
        self.done: list[tuple[int, int]] = []
        self.ends = ends
        self.events = {step: threading.Event() for step in ends}
        self.current = 0

    def inject(self, fault: Fault, step: int) -> Injected:
        self.done.append((fault.number, step))
        if len(self.done) == self.ends.get(step):
            self.events[step].set()
        return Injected(fault, True, fault.kind, 0.0, step)

    def step(self, number: int, idle: float = 0.0) -> tuple[int, Callable[[], None]]:
        def work() -> None:
            self.current = number
            if number in self.events:
                assert self.events[number].wait(10)
            else:
                time.sleep(idle)

        return number, work

    def busy(self) -> bool:
        event = self.events.get(self.current)
        return event is not None and not event.is_set()

    def run(self, plan: FaultPlan, *steps: tuple[int, Callable[[], None]]) -> list[str]:
        lines: list[str] = []
        run_steps(steps, plan, self, self.busy, lines.append)
        return lines


def _plan(*faults: tuple[int, FaultKind]) -> FaultPlan:
    return FaultPlan(0, tuple(Fault(n, step, kind, 0.01) for n, (step, kind) in enumerate(faults, 1)))


def test_a_fault_whose_step_ended_first_is_carried_to_the_next_step() -> None:
    plan = _plan((1, "kill_grades"), (1, "restart_broker"), (2, "kill_signing"), (3, "kill_worker"))
    # Step 1 ends at once; step 2 works until its 3 faults are in (two carried, its own).
    injector = _Injector({2: 3, 3: 4})
    lines = injector.run(plan, injector.step(1), injector.step(2), injector.step(3))
    assert injector.done == [(1, 2), (2, 2), (3, 2), (4, 3)]
    log = injector.log
    assert [e.fault.number for e in log.entries] == [1, 2, 3, 4]
    assert [e.fault.step for e in log.entries] == [1, 1, 2, 3], "a carried fault keeps its plan"
    assert [e.carried for e in log.entries] == [True, True, False, False]
    assert log.summary().startswith("faults=4 missed=0 carried=2 ")
    assert "fault #1 step 1 kill_grades after 0.0 s: carried to step 2 (the step ended first)" in lines
    assert (
        "fault #1 step 1 kill_grades after 0.0 s (carried to step 2): kill_grades, recovered in 0.0 s"
        in lines
    )


def test_a_fault_waits_for_work_in_flight_and_is_carried_when_none_came() -> None:
    # Step 2 runs half a second without work in flight: its fault waits, then goes to step 3.
    plan = _plan((2, "restart_broker"))
    injector = _Injector({3: 1})
    injector.run(plan, injector.step(2, idle=0.5), injector.step(3))
    assert injector.done == [(1, 3)]


def test_a_batch_worker_s_kill_is_carried_only_into_a_batch_step() -> None:
    # Made-up order: after step 3, a step that signs no batch (1), then step 4.
    plan = _plan((3, "kill_worker"), (3, "kill_grades"))
    injector = _Injector({1: 1, 4: 2})
    lines = injector.run(plan, injector.step(3), injector.step(1), injector.step(4))
    assert injector.done == [(2, 1), (1, 4)]
    assert "fault #1 step 3 kill_worker after 0.0 s: carried to step 4 (the step ended first)" in lines
    assert "fault #2 step 3 kill_grades after 0.0 s: carried to step 1 (the step ended first)" in lines
    assert injector.log.summary().startswith("faults=2 missed=0 carried=2 ")


def test_faults_the_last_step_ended_before_are_missed_not_injected() -> None:
    plan = _plan((3, "kill_signing"), (4, "kill_grades"), (4, "kill_worker"))
    injector = _Injector({})
    lines = injector.run(plan, injector.step(3), injector.step(4))
    assert injector.done == []
    assert [(e.fault.number, e.done, e.step, e.note) for e in injector.log.entries] == [
        (1, False, 4, "the step ended first"),
        (2, False, 4, "the step ended first"),
        (3, False, 4, "the step ended first"),
    ]
    assert injector.log.summary().startswith("faults=0 missed=3 carried=0 ")
    assert lines[0] == "fault #1 step 3 kill_signing after 0.0 s: carried to step 4 (the step ended first)"
    assert (
        "fault #3 step 4 kill_worker after 0.0 s: missed (the step ended first, no later step takes it)"
        in lines
    )


def test_after_a_failed_step_every_fault_left_is_missed() -> None:
    plan = _plan((1, "kill_grades"), (2, "kill_signing"), (3, "restart_broker"))
    injector = _Injector({})

    def fails() -> None:
        raise RuntimeError("no answer")

    injector.run(plan, (1, fails), injector.step(2), injector.step(3))
    assert injector.done == []
    assert [(e.fault.number, e.note) for e in injector.log.entries] == [
        (1, "step 1 failed"),
        (2, "step 1 failed"),
        (3, "step 1 failed"),
    ]
