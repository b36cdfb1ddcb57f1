"""`make bench-yearend` (issue 12): the year end of the demo school through the running stack, then
step 4's work on the same records through the bare batch signer alone.

1. A fresh embedded stack (SQLite files, or PostgreSQL databases with HBS_TEST_DATABASE=postgresql)
   and the driver (hbs_devtools.yearend): seed `--classes` classes shaped like the demo school (36:
   the whole school, 1,473 students, 864 sheets), steps 1–4 through the services' HTTP APIs, the
   invariants checked (a broken one fails the run).
2. The same records' contents (as grades would sign them) through the engine (`engine_step4`): the
   principal's signature, the seal and the document timestamp, with no services, broker or database.

Not a timed test: it prints what it measured. The last line is exactly
`yearend_step4_s=<s> step4_records_per_s=<r> step1_sheet_p99_s=<s> event_p99_ms=<ms>
service_sig_per_s=<a> engine_sig_per_s=<b> service_vs_engine=<a/b> step2_class_p99_s=<s>
step3_class_p99_s=<s>` (one line), where
service_sig_per_s counts step 4's signature operations (principal, seal, document timestamp: three
per record) per second of step 4's wall time (the principal's request until grades shows every
record approved), and engine_sig_per_s the same operations per second of the engine's wall time;
the step2/3 keys are each class's batch request → every record of it shown signed (target ≤ 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hbs_devtools.benchdb import postgres_database, postgres_wanted
from hbs_devtools.broker import free_port
from hbs_devtools.spy import Spy
from hbs_devtools.yearend import FULL_SCHOOL, PRINCIPAL, School, YearEndDriver, YearEndReport, percentile

SERVICES = ("identity", "grades", "signing", "portal")
SIGNATURES_PER_RECORD = 3
"""Step 4's signature operations per record: the principal's, the seal's, the document timestamp."""
LINE = re.compile(
    r"^yearend_step4_s=\d+\.\d+ step4_records_per_s=\d+\.\d+ step1_sheet_p99_s=\d+\.\d+ "
    r"event_p99_ms=\d+\.\d+ service_sig_per_s=\d+\.\d+ engine_sig_per_s=\d+\.\d+ "
    r"service_vs_engine=\d+\.\d+ step2_class_p99_s=\d+\.\d+ step3_class_p99_s=\d+\.\d+ "
    r"single_sheet_p99_s=\d+\.\d+ step2_class_alone_s=\d+\.\d+ step3_class_alone_s=\d+\.\d+$"
)
"""The last line's format (the test checks it)."""


@dataclass(frozen=True)
class EngineRun:
    records: int
    signatures: int
    seconds: float

    @property
    def signatures_per_s(self) -> float:
        return self.signatures / self.seconds if self.seconds > 0 else 0.0


def engine_step4(contents: Sequence[Any], *, workers: int | None = None) -> EngineRun:
    """Step 4 (principal + seal + document timestamp) on these year records through the bare batch
    signer; only step 4 is timed (the records are rendered and signed at steps 2–3 first).

    The one switch between engines: signing's public `hbs_signing.batches.engine.sign_year_end`
    when this tree has it, else the same work assembled here from `hbs_signing.bench`'s parts."""
    try:
        from hbs_signing.batches.engine import sign_year_end  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return _engine_here(contents, workers or os.cpu_count() or 1)
    stats = sign_year_end(list(contents), workers=workers)
    return EngineRun(stats.records, stats.signatures, stats.seconds)


def _engine_here(contents: Sequence[Any], workers: int) -> EngineRun:
    """The batch signer alone, as `hbs_signing.bench` drives it, with the record's four roles."""
    import logging

    from hbs_signing.batches.workers import (
        BatchCredentials,
        BatchDocument,
        BatchResult,
        BatchSigner,
        RenderYearRecord,
        SealCredentials,
    )
    from hbs_signing.devca import DevelopmentCA
    from hbs_signing.documents.layout import RECORD_BOXES, RECORD_FIELDS, Verification
    from hbs_signing.token import Token, TokenConfig, ensure_softhsm_token

    logging.getLogger("pyhanko").setLevel(logging.ERROR)  # fetching is off on purpose: CRLs preloaded
    school = "Trường THPT Chuyên Thái Bình"
    signers = {
        "homeroom_teacher": ("Phạm Quốc Dũng", "Giáo viên chủ nhiệm"),
        "vice_principal": ("Lê Thị Thu Hà", "Phó Hiệu trưởng"),
        "principal": ("Trần Văn Minh", "Hiệu trưởng"),
        "seal": (school, "Dấu của nhà trường"),
    }
    with tempfile.TemporaryDirectory(prefix="hbs-engine-") as tmp:
        folder = Path(tmp)
        config = TokenConfig(
            "/usr/lib/softhsm/libsofthsm2.so",
            "hbs-engine",
            "engine-pin-2468",
            "engine-so-1357",
            folder / "softhsm",
        )
        ensure_softhsm_token(config)
        ca = DevelopmentCA.load_or_create(folder / "devca", "http://127.0.0.1:9")

        async def issue() -> dict[str, bytes]:
            token = Token(config)
            await token.open()
            try:
                return {
                    role: ca.issue(
                        await token.ensure_rsa_key(f"engine-{role}"),
                        common_name=name,
                        organisation=school,
                        role=title,
                    )
                    for role, (name, title) in signers.items()
                }
            finally:
                await token.close()

        certificates = asyncio.run(issue())
        crl = ca.crl_der()

        def credentials(role: str, seal: bool = False) -> BatchCredentials:
            name, title = signers[role]
            field = RECORD_FIELDS[role]
            seal_field = RECORD_FIELDS["seal"]
            return BatchCredentials(
                token=config,
                key_label=f"engine-{role}",
                certificate_der=certificates[role],
                chain_der=(ca.root_der,),
                validation_certificates=(certificates[role], ca.root_der, ca.tsa_certificate_der),
                crls=(crl,),
                field_name=field,
                signer_name=name,
                reason=f"{title} ký học bạ",
                location="Hưng Yên",
                stamp_box=RECORD_BOXES[field],
                seal=SealCredentials(
                    key_label="engine-seal",
                    certificate_der=certificates["seal"],
                    chain_der=(ca.root_der,),
                    validation_certificates=(certificates["seal"], ca.root_der, ca.tsa_certificate_der),
                    crls=(crl,),
                    signer_name=school,
                    reason=f"Đóng dấu {school}",
                    field_name=seal_field,
                    stamp_box=RECORD_BOXES[seal_field],
                )
                if seal
                else None,
                tsa_key_der=ca.tsa_key_der,
                tsa_certificate_der=ca.tsa_certificate_der,
            )

        def sign(role: str, documents: list[BatchDocument], seal: bool = False) -> dict[str, bytes]:
            out: dict[str, bytes] = {}

            def store(results: list[BatchResult]) -> None:
                for result in results:
                    if result.pdf is None:
                        raise RuntimeError(f"the engine could not sign {result.key}: {result.error}")
                    out[result.key] = result.pdf

            BatchSigner(credentials(role, seal), workers=workers).sign_all(documents, store=store)
            return out

        rendered = [
            BatchDocument(
                str(n),
                RenderYearRecord(c, Verification(f"E{n:09d}", f"https://hocba.example.vn/verify/E{n:09d}")),
            )
            for n, c in enumerate(contents)
        ]
        first = sign("homeroom_teacher", rendered)
        second = sign("vice_principal", [BatchDocument(k, pdf) for k, pdf in first.items()])
        started = time.perf_counter()
        done = sign("principal", [BatchDocument(k, pdf) for k, pdf in second.items()], seal=True)
        seconds = time.perf_counter() - started
    return EngineRun(len(contents), SIGNATURES_PER_RECORD * len(done), seconds)


def record_contents(made: YearEndDriver, school: School) -> list[Any]:
    """Every record's content as grades would sign it now (`GET /records/{id}`), as signing's model."""
    from hbs_shared.records import YearRecordContent

    ids = [
        str(r["id"])
        for k in school.classes
        for r in made.http.json(
            PRINCIPAL, "grades", "GET", f"/records/classes/{k.name}", "/records/classes/{name}"
        )["records"]
    ]

    def content(record_id: str) -> YearRecordContent:
        detail = made.http.json(PRINCIPAL, "grades", "GET", f"/records/{record_id}", "/records/{id}")
        return YearRecordContent.model_validate(detail["content"])

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(content, ids))


def result_line(report: YearEndReport, engine: EngineRun) -> str:
    step4 = report.step4
    service = SIGNATURES_PER_RECORD * step4.records / step4.total_s if step4.total_s > 0 else 0.0
    ratio = service / engine.signatures_per_s if engine.signatures_per_s > 0 else 0.0
    return (
        f"yearend_step4_s={step4.total_s:.2f} "
        f"step4_records_per_s={(step4.records / step4.total_s if step4.total_s > 0 else 0.0):.2f} "
        f"step1_sheet_p99_s={percentile(report.sheet_latency_s, 0.99):.2f} "
        f"event_p99_ms={percentile(report.event_latency_ms, 0.99):.1f} "
        f"service_sig_per_s={service:.2f} engine_sig_per_s={engine.signatures_per_s:.2f} "
        f"service_vs_engine={ratio:.2f} "
        f"step2_class_p99_s={percentile(report.class_latency_s.get(2, []), 0.99):.2f} "
        f"step3_class_p99_s={percentile(report.class_latency_s.get(3, []), 0.99):.2f} "
        f"single_sheet_p99_s={percentile(report.single_sheet_s, 0.99):.2f} "
        f"step2_class_alone_s={report.class_alone_s.get(2, 0.0):.2f} "
        f"step3_class_alone_s={report.class_alone_s.get(3, 0.0):.2f}"
    )


@contextlib.contextmanager
def bench_stack(folder: Path, database_urls: dict[str, str]) -> Iterator[Any]:
    from hbs_devtools.stack import Stack

    session = {f"HBS_{s.upper()}_KAFKA_SESSION_TIMEOUT_MS": "2000" for s in SERVICES}
    stack = Stack(
        folder,
        ports={name: free_port() for name in SERVICES},
        database_urls=database_urls,
        environment="test",
        fork=True,
        # The small demo school besides the driver's own; cheap password hashes for its many sign-ins.
        extra_env={"HBS_IDENTITY_DEMO_SIZE": "small", "HBS_IDENTITY_PASSWORD_HASH_COST": "test", **session},
    )
    with stack:
        yield stack


async def _postgres_urls(stack: contextlib.AsyncExitStack) -> dict[str, str]:
    return {name: await stack.enter_async_context(postgres_database(f"hbs_ye_{name}")) for name in SERVICES}


def run(
    classes: int,
    *,
    workers: int,
    engine_workers: int | None,
    pdfs: int | None,
    profile: Path | None = None,
    say: Any = print,
) -> str:
    """The whole benchmark; returns the last line (also printed). `profile`: a folder for py-spy's
    record of signing (with its batch workers) and grades during step 4, summarised at the end."""
    with tempfile.TemporaryDirectory(prefix="hbs-yearend-") as tmp:
        folder = Path(tmp)
        loop = asyncio.new_event_loop()
        databases = contextlib.AsyncExitStack()
        try:
            urls = loop.run_until_complete(_postgres_urls(databases)) if postgres_wanted() else {}
            with (
                bench_stack(folder / "stack", urls) as stack,
                YearEndDriver(stack, workers=workers, log=say) as made,
            ):
                say(f"database: {'postgresql' if urls else 'sqlite'}; load average {os.getloadavg()}")
                spy: Spy | None = None
                if profile is not None:
                    pids = {name: stack.pid(name) for name in ("signing", "grades")}
                    spy = Spy(profile, pids)
                    made.around_step4 = lambda: spy
                school = made.seed(classes)
                report = made.run(school)
                if spy is not None:
                    say(spy.summary())
                say(f"load average after the run {os.getloadavg()}")
                invariants = made.check(school, pdfs=pdfs)
                say(
                    f"invariants: {invariants.records} records, {invariants.documents} documents, "
                    f"{invariants.pdfs_read} PDFs read, {invariants.repeated_signatures} signatures repeated"
                )
                if invariants.problems:
                    raise SystemExit("invariants broken:\n" + "\n".join(invariants.problems[:50]))
                say(json.dumps(report.summary(), ensure_ascii=False))
                slowest = sorted(report.request_summary().items(), key=lambda kv: -kv[1]["p99_s"])[:12]
                for route, figures in slowest:
                    say(f"  {route}: {figures}")
                contents = record_contents(made, school)
        finally:
            loop.run_until_complete(databases.aclose())
            loop.close()
        say(f"engine: step 4 on the same {len(contents)} records through the bare batch signer")
        engine = engine_step4(contents, workers=engine_workers)
        say(f"engine: {engine.signatures} signatures in {engine.seconds:.1f} s")
    line = result_line(report, engine)
    print(line, flush=True)
    return line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--classes", type=int, default=FULL_SCHOOL, help="classes (default 36: the demo school)"
    )
    parser.add_argument("--workers", type=int, default=4, help="people acting at once (default 4)")
    parser.add_argument("--engine-workers", type=int, default=None, help="signing processes (default: cores)")
    parser.add_argument("--pdfs", type=int, default=None, help="PDFs to read in the checks (default all)")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy on signing and grades during step 4, into this folder",
    )
    options = parser.parse_args(argv)
    run(
        options.classes,
        workers=options.workers,
        engine_workers=options.engine_workers,
        pdfs=options.pdfs,
        profile=options.profile,
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
