"""The year-end driver (hbs_devtools.yearend) on one small class of its own, through the running
stack: steps 1–4 as users do them, the invariants hold, and `make bench-yearend`'s last line comes
out in its exact format (with step 4 on the same records through the bare batch signer). The class
is the `sealed` one (tests/conftest.py), which the driver's run made and checked at once; the other
modules sealing records reuse it afterwards."""

from __future__ import annotations

import os

import pytest

from hbs_devtools.bench_yearend import LINE, engine_step4, record_contents, result_line

from .sealed import SealedClass

# Not rerun on PostgreSQL (no `db` marker): it tests the benchmark's driver; the year-end path on
# PostgreSQL is test_year_records' and grades' test_records (and `make bench-yearend DB=postgresql`).
pytestmark = [pytest.mark.broker, pytest.mark.hsm, pytest.mark.timeout(300)]


def test_a_small_year_end_keeps_every_invariant_and_prints_the_bench_line(sealed: SealedClass) -> None:
    school, report, invariants = sealed.school, sealed.report, sealed.invariants
    assert (school.students, school.sheets) == (4, 4)
    contents = record_contents(sealed.driver, school)  # read only: whatever other modules did since
    assert invariants.problems == []
    assert (invariants.records, invariants.documents, invariants.pdfs_read) == (4, 4, 4)
    assert invariants.repeated_signatures == 0
    assert sorted(report.steps_s) == [1, 2, 3, 4]
    assert len(report.single_sheet_s) == 1  # signed alone first, then the other 3 in step 1
    assert len(report.sheet_latency_s) == 3
    assert sorted(report.class_alone_s) == [2, 3]
    assert [len(report.class_latency_s[step]) for step in (2, 3)] == [1, 1]  # the line's step2/3 keys
    assert report.step4.records == 4
    assert report.step4.total_s >= report.step4.request_s > 0
    assert len(report.event_latency_ms) == 3
    assert report.requests["POST grades/records/sign"]  # every call timed under its route
    if os.environ.get("HBS_TEST_DATABASE") == "postgresql":
        return  # the engine uses no database: its part runs once, in the SQLite run
    engine = engine_step4(contents[:1], workers=1)
    assert engine.signatures == 3
    line = result_line(report, engine)
    assert LINE.match(line), line
