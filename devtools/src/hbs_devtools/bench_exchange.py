"""`make bench-exchange` (issue 13 §2): export a graduating cohort's packages through the running stack.

A fresh embedded stack; the year-end driver (hbs_devtools.yearend) seeds `--classes` classes shaped
like the demo school's and seals their records (steps 1–4, as users do them); then the office
exports every student of them as a graduation package (`POST /exchange/packages`, 50 students per
request, as the portal's progress would count them), each package checked for its seal. The demo
school's grade 12 is 12 classes (7 of 38, 5 of 45: 491 students), so `--classes 12` is its cohort;
fewer classes make a quicker run whose rate is extrapolated to 491 in the last line.

Not a timed test. The last line is exactly
`export_students=<n> export_s=<s> packages_per_s=<r> package_kb_avg=<kb> cohort_491_estimate_s=<s>`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from hbs_devtools.bench_yearend import bench_stack
from hbs_devtools.yearend import OFFICE, YearEndDriver

COHORT = 491
"""The demo school's grade 12: seven classes of 38 and five of 45."""
CHUNK = 50


def run(classes: int, students: int | None, workers: int, log: Callable[[str], None] = print) -> str:
    with (
        tempfile.TemporaryDirectory(prefix="hbs-exchange-") as tmp,
        bench_stack(Path(tmp) / "stack", {}) as stack,
        YearEndDriver(stack, workers=workers, log=log) as made,
    ):
        school = made.seed(classes, students=students)
        made.run(school, event_probes=0)
        invariants = made.check(school, pdfs=0)
        if invariants.problems:
            raise SystemExit("invariants broken:\n" + "\n".join(invariants.problems[:20]))
        ids = [s for klass in school.classes for s in klass.student_ids]
        token = made.http.sign_in(OFFICE)
        sizes: list[int] = []
        with httpx.Client(
            base_url=stack.url("signing"), headers={"authorization": f"Bearer {token}"}, timeout=600
        ) as signing:
            started = time.monotonic()
            for first in range(0, len(ids), CHUNK):
                chunk = ids[first : first + CHUNK]
                answer = signing.post(
                    "/exchange/packages", json={"student_ids": chunk, "reason": "graduated"}
                )
                if answer.status_code != 201:
                    raise SystemExit(f"export refused: {answer.status_code} {answer.text[:300]}")
                exported = answer.json()["exported"]
                sizes.extend(item["package"]["size"] for item in exported)
                if any(item["package"]["records"] < 1 for item in exported):
                    raise SystemExit("a package carries no sealed record")
                log(f"exported {first + len(chunk)}/{len(ids)} ({time.monotonic() - started:.1f} s)")
            seconds = time.monotonic() - started
    rate = len(ids) / seconds
    line = (
        f"export_students={len(ids)} export_s={seconds:.1f} packages_per_s={rate:.2f} "
        f"package_kb_avg={sum(sizes) / len(sizes) / 1024:.1f} cohort_491_estimate_s={COHORT / rate:.1f}"
    )
    print(line, flush=True)
    return line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--classes", type=int, default=12, help="classes (default 12: the demo's grade 12)")
    parser.add_argument("--students", type=int, default=None, help="students per class (default: the demo's)")
    parser.add_argument("--workers", type=int, default=4, help="people acting at once (default 4)")
    options = parser.parse_args(argv)
    run(options.classes, options.students, options.workers)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
