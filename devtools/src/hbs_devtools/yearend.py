"""The year end of a whole school, driven through the running stack exactly as its users do it.

`YearEndDriver(stack)` talks to a running `hbs_devtools.stack.Stack` over HTTP only:

- `seed(classes)` makes a school of `classes` classes through identity's office API (as `quantri`),
  shaped like the full demo school: per grade 10, 11, 12 seven specialist classes of 38 and five of
  45 (36 classes, 1,473 students, 864 sheets for `classes=36`), twelve subjects each, teachers
  sharing classes as in the demo. It waits until grades has every sheet with every student, then
  fills every sheet's scores (as the teachers), each class's conduct and checks each student's
  personal data (as the homeroom teacher, Đ6.1). Returns a `School`.
- `run(school)` runs Đ8 steps 1–4 and waits for each step's effect to be visible in grades:
  step 1 every subject teacher submits and signs each sheet (a PIN activation per sheet), step 2
  each homeroom teacher signs the class's records (one batch), step 3 the vice-principal draws and
  passes each class's review sample and signs it (one batch per class), step 4 the principal signs
  every class at once (one batch: principal, seal, document timestamp). Before step 1 it measures
  the event latency outside a batch (identity → broker → grades). Returns a `YearEndReport`:
  the steps' wall times, per-sheet and per-class latencies and every request's latency by route.
- `check(school, report)` proves the invariants and returns an `Invariants` (its `problems` list
  is empty when all hold): every record approved and sealed exactly once, its document with 4
  signatures and a document timestamp (each PDF read: one signature per role, the timestamp last),
  counts equal between grades and signing, every batch finished with nothing failed or pending.

`year_end(stack, classes)` does all three. Threads act for different people at once (`workers`).
Personal data never leaves the run: the report names classes and counts, not students.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import random
import sqlite3
import statistics
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.stack import Stack

T = TypeVar("T")

PIN = "246810"
PASSWORD = "nam-hoc-HBS-2026"
"""The password every person the driver makes changes theirs to at first sign-in."""
OFFICE, VICE_PRINCIPAL, PRINCIPAL = "quantri", "phohieutruong", "hieutruong"
SUBJECTS: tuple[str, ...] = (
    "NGU_VAN", "TOAN", "NGOAI_NGU_1", "LICH_SU", "GDTC", "GDQPAN", "HDTN_HN", "GD_DIA_PHUONG",
    "VAT_LI", "HOA_HOC", "SINH_HOC", "TIN_HOC",
)  # fmt: skip
"""The twelve subjects of every class of the demo school (hbs_identity.demo.CLASS_SUBJECTS)."""
CLASSES_PER_TEACHER = 4
"""About how many classes a subject teacher teaches one subject in (the demo: 36 classes, 6–10
teachers per subject)."""
RECORD_ROLES = ("Sig1_GVCN", "Sig2_PHT", "Sig3_HT", "Sig4_DauTruong")
"""The record's signature fields in signing order (hbs_signing.documents.layout.RECORD_FIELDS)."""
FULL_SCHOOL = 36


class YearEndError(AssertionError):
    """The year end could not go on (a refused request, or a step that did not finish in time)."""


def school_shape(classes: int = FULL_SCHOOL) -> list[tuple[int, str, int]]:
    """(grade, kind, headcount) of the first `classes` classes of the demo school's shape: per grade,
    seven specialist classes of 38 then five of 45 (Thông tư 32/2020's maximum)."""
    shape = [s for grade in (10, 11, 12) for s in [*([(grade, "C", 38)] * 7), *([(grade, "A", 45)] * 5)]]
    return [shape[i % len(shape)] for i in range(classes)]


def percentile(values: Iterable[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Person:
    id: str
    username: str


@dataclass
class SchoolClass:
    name: str
    id: str
    headcount: int
    teachers: dict[str, Person]
    """Subject code → its teacher in this class."""
    homeroom: Person
    student_ids: list[str] = field(default_factory=list)
    sheet_ids: list[str] = field(default_factory=list)


@dataclass
class School:
    tag: str
    school_year: str
    classes: list[SchoolClass]

    @property
    def students(self) -> int:
        return sum(len(c.student_ids) for c in self.classes)

    @property
    def sheets(self) -> int:
        return sum(len(c.sheet_ids) for c in self.classes)

    def teachers(self) -> dict[str, list[tuple[SchoolClass, str]]]:
        """Each subject teacher's username → the (class, subject) they teach."""
        found: dict[str, list[tuple[SchoolClass, str]]] = defaultdict(list)
        for klass in self.classes:
            for code, teacher in klass.teachers.items():
                found[teacher.username].append((klass, code))
        return found


@dataclass
class Step4:
    request_s: float = 0.0
    """The principal's activation and `POST /records/sign`, until it answered."""
    reached_signing_s: float = 0.0
    """From the request until signing had every record's request (its batch's total)."""
    total_s: float = 0.0
    """From the request until grades showed every record approved."""
    records: int = 0

    @property
    def signatures(self) -> int:
        """Principal, seal and document timestamp: three signature operations per record."""
        return 3 * self.records


@dataclass
class YearEndReport:
    classes: int = 0
    students: int = 0
    sheets: int = 0
    seed_s: float = 0.0
    steps_s: dict[int, float] = field(default_factory=dict)
    """Đ8 step → wall time, from its first request until grades shows its last effect."""
    sheet_latency_s: list[float] = field(default_factory=list)
    """Step 1: each sheet's `POST /sheets/{id}/sign` answer → grades shows it signed."""
    class_latency_s: dict[int, list[float]] = field(default_factory=dict)
    """Steps 2 and 3: each class's batch request → grades shows every record of it signed."""
    single_sheet_s: list[float] = field(default_factory=list)
    """Before step 1, sheets signed one at a time with nothing else running (the issue's "a single
    sheet signed and visible ≤ 2 s"): request → grades shows it signed."""
    class_alone_s: dict[int, float] = field(default_factory=dict)
    """Steps 2 and 3: the first class alone, before the others go four at a time."""
    step4: Step4 = field(default_factory=Step4)
    event_latency_ms: list[float] = field(default_factory=list)
    """Outside a batch: identity's answer to a student's change → grades shows it."""
    requests: dict[str, list[float]] = field(default_factory=dict)
    """Each route (`METHOD /path/{template}`) → the latency of every call, seconds."""
    batches: list[str] = field(default_factory=list)
    """Every records batch the run started (steps 2–4)."""
    signed_again: int = 0
    """Signatures that failed (signing said so) and were asked for again, as their signer would."""
    failures: dict[str, int] = field(default_factory=dict)
    """`METHOD service/route <status or error>` → answers that were 5xx or missing (then retried)."""

    def request_summary(self) -> dict[str, dict[str, float]]:
        return {
            route: {
                "count": len(values),
                "p50_s": round(statistics.median(values), 4),
                "p99_s": round(percentile(values, 0.99), 4),
                "max_s": round(max(values), 4),
            }
            for route, values in sorted(self.requests.items())
        }

    def summary(self) -> dict[str, Any]:
        return {
            "classes": self.classes,
            "students": self.students,
            "sheets": self.sheets,
            "seed_s": round(self.seed_s, 1),
            "steps_s": {k: round(v, 1) for k, v in sorted(self.steps_s.items())},
            "step1_sheet_p50_s": round(percentile(self.sheet_latency_s, 0.5), 2),
            "step1_sheet_p99_s": round(percentile(self.sheet_latency_s, 0.99), 2),
            "class_p99_s": {k: round(percentile(v, 0.99), 1) for k, v in self.class_latency_s.items()},
            "single_sheet_p99_s": round(percentile(self.single_sheet_s, 0.99), 2),
            "class_alone_s": {k: round(v, 1) for k, v in self.class_alone_s.items()},
            "step4": {
                "request_s": round(self.step4.request_s, 2),
                "reached_signing_s": round(self.step4.reached_signing_s, 1),
                "total_s": round(self.step4.total_s, 1),
                "records": self.step4.records,
            },
            "event_p99_ms": round(percentile(self.event_latency_ms, 0.99), 1),
            "failures": self.failures,
            "signed_again": self.signed_again,
        }


@dataclass
class Invariants:
    records: int = 0
    documents: int = 0
    pdfs_read: int = 0
    repeated_signatures: int = 0
    """Signatures signing made again for a record and role it had signed (work for nothing; no
    record carries them, or `problems` says so)."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Http:
    """Signed-in HTTP calls to the stack, timing every one under its route's template."""

    def __init__(self, stack: Stack, passwords: dict[str, str], retry_for: float = 120.0) -> None:
        self.stack = stack
        self.passwords = passwords
        self.retry_for = retry_for
        self.failures: Counter[str] = Counter()
        """`METHOD service/route <status or error>` → how many answers were 5xx or missing."""
        self.clients = {name: httpx.Client(base_url=stack.url(name), timeout=120) for name in stack.ports}
        self.tokens: dict[str, str] = {}
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def sign_in(self, username: str) -> str:
        answer = self.call(
            None,
            "identity",
            "POST",
            "/auth/token",
            "/auth/token",
            expect=(200, 401),
            json={"username": username, "password": self.passwords.get(username, DEMO_PASSWORD)},
        )
        if answer.status_code != 200:
            raise YearEndError(f"sign-in of {username}: {answer.status_code} {answer.text[:300]}")
        token: str = answer.json()["access_token"]
        with self.lock:
            self.tokens[username] = token
        return token

    def call(
        self,
        who: str | None,
        service: str,
        method: str,
        path: str,
        route: str,
        *,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> httpx.Response:
        """One request as `who` (None: anonymous), as a person at the keyboard makes it: a 401 (the
        5-minute access token expired) signs in again; a 5xx answer or no answer (a service
        restarting) is tried again for up to `retry_for` seconds and counted in `failures`.
        Anything else but `expect` raises YearEndError."""
        name = f"{method} {service}{route}"
        deadline = time.monotonic() + self.retry_for
        pause = 0.2
        while True:
            headers = {}
            if who is not None:
                token = self.tokens.get(who) or self.sign_in(who)
                headers["authorization"] = f"Bearer {token}"
            started = time.monotonic()
            try:
                answer: httpx.Response | None = self.clients[service].request(
                    method, path, headers=headers, **kwargs
                )
            except httpx.TransportError as error:
                answer, trouble = None, type(error).__name__
            elapsed = time.monotonic() - started
            with self.lock:
                self.latencies[name].append(elapsed)
            if answer is not None and answer.status_code == 401 and who is not None:
                self.sign_in(who)
                continue
            if answer is not None and answer.status_code < 500:
                break
            trouble = str(answer.status_code) if answer is not None else trouble
            with self.lock:
                self.failures[f"{name} {trouble}"] += 1
            if time.monotonic() > deadline:
                raise YearEndError(
                    f"{method} {service}{path} as {who}: still {trouble} after {self.retry_for} s"
                )
            time.sleep(pause)
            pause = min(2.0, pause * 2)
        if answer.status_code not in expect:
            raise YearEndError(f"{method} {service}{path} as {who}: {answer.status_code} {answer.text[:500]}")
        return answer

    def json(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs).json()


def wait_until(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise YearEndError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class YearEndDriver:
    """See the module's docstring. `workers`: how many people act at once (threads); `retry_for`:
    how long a request answered 5xx (or not at all) is tried again (`report.failures` counts them);
    `sign_again`: how many times a signature that failed is asked for again (`report.signed_again`)."""

    def __init__(
        self,
        stack: Stack,
        *,
        workers: int = 4,
        step_timeout: float = 1800.0,
        log: Callable[[str], None] = print,
        seed: int = 2027,
        retry_for: float = 120.0,
        sign_again: int = 2,
    ) -> None:
        self.stack = stack
        self.workers = workers
        self.step_timeout = step_timeout
        self.log = log
        self.rng = random.Random(seed)
        self.passwords: dict[str, str] = {}
        self.http = Http(stack, self.passwords, retry_for)
        self.sign_again = sign_again
        self.signed_again = 0
        self.batches: list[str] = []
        """Every records batch started (steps 2–4), in order."""
        self.serial = 0
        self.around_step4: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext
        """Entered for step 4 only (the bench's `--profile`: py-spy on the services meanwhile)."""

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> YearEndDriver:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ helpers

    def _parallel(self, items: Iterable[T], action: Callable[[T], None], workers: int | None = None) -> None:
        """`action` on every item, `workers` at a time; the first failure is raised."""
        with ThreadPoolExecutor(max_workers=workers or self.workers) as pool:
            for future in [pool.submit(action, item) for item in items]:
                future.result()

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def _office(self, method: str, path: str, route: str, body: dict[str, Any] | None = None) -> Any:
        return self.http.json(OFFICE, "identity", method, path, route, json=body, expect=(200, 201))

    def _staff(self, tag: str, roles: list[str]) -> Person:
        """A staff member with an account, whose first password is changed at once (as at first sign-in)."""
        n = self._next()
        username = f"yt.{tag.lower()}{n}"
        made = self._office(
            "POST",
            "/staff",
            "/staff",
            {"username": username, "full_name": f"Giáo viên {tag} {n}", "roles": roles},
        )
        initial = self._office("POST", f"/accounts/{made['id']}/password", "/accounts/{id}/password")[
            "initial_password"
        ]
        identity = self.http.clients["identity"]
        restricted = identity.post("/auth/token", json={"username": username, "password": initial})
        if restricted.status_code != 200:
            raise YearEndError(f"first sign-in of {username}: {restricted.text[:300]}")
        changed = identity.post(
            "/auth/password",
            json={"current_password": initial, "new_password": PASSWORD},
            headers={"authorization": f"Bearer {restricted.json()['access_token']}"},
        )
        if changed.status_code != 200:
            raise YearEndError(f"password change of {username}: {changed.text[:300]}")
        self.passwords[username] = PASSWORD
        return Person(str(made["id"]), username)

    def _ensure_pin(self, username: str) -> None:
        if not self.http.json(username, "signing", "GET", "/signing-pin", "/signing-pin")["set"]:
            self.http.call(
                username, "signing", "PUT", "/signing-pin", "/signing-pin", json={"pin": PIN}, expect=(204,)
            )

    def _activate(
        self, username: str, *, subject_ids: list[str] | None = None, batch_id: str | None = None
    ) -> str:
        body: dict[str, Any] = {"pin": PIN}
        if subject_ids is not None:
            body["subject_ids"] = subject_ids
        if batch_id is not None:
            body["batch_id"] = batch_id
        answer = self.http.json(
            username, "signing", "POST", "/activations", "/activations", json=body, expect=(201,)
        )
        return str(answer["activation_id"])

    # --------------------------------------------------------------------------------- seed

    def seed(
        self, classes: int = FULL_SCHOOL, *, students: int | None = None, subjects: tuple[str, ...] = SUBJECTS
    ) -> School:
        """A school of `classes` classes shaped like the demo's, ready for step 1 (see the module);
        `students` per class and fewer `subjects` make a small one (tests)."""
        started = time.monotonic()
        tag = uuid.uuid4().hex[:4].upper()
        years = self.http.json(OFFICE, "identity", "GET", "/school-years", "/school-years")
        school_year = str(next(y["name"] for y in years if y["current"]))
        shape = [(g, k, students or h) for g, k, h in school_shape(classes)]
        per_subject = max(1, math.ceil(classes / CLASSES_PER_TEACHER))
        self.log(f"seeding {classes} classes, {sum(h for _, _, h in shape)} students ({tag})")
        pool: dict[str, list[Person]] = {}

        def make_teachers(code: str) -> None:
            pool[code] = [self._staff(tag, ["subject_teacher"]) for _ in range(per_subject)]

        self._parallel(subjects, make_teachers)
        homerooms: list[Person] = []
        self._parallel(
            range(classes),
            lambda _: homerooms.append(self._staff(tag, ["subject_teacher", "homeroom_teacher"])),
        )
        made: list[SchoolClass] = []
        for index, (grade, kind, headcount) in enumerate(shape):
            name = f"{grade}{kind}{tag}{index + 1:02d}"
            created = self._office(
                "POST",
                "/classes",
                "/classes",
                {"name": name, "grade_level": grade, "school_year": school_year},
            )
            teachers = {code: pool[code][index % per_subject] for code in subjects}
            made.append(SchoolClass(name, str(created["id"]), headcount, teachers, homerooms[index]))

        def assign(klass: SchoolClass) -> None:
            for code, teacher in klass.teachers.items():
                body = {
                    "kind": "subject_teacher",
                    "teacher_id": teacher.id,
                    "class_id": klass.id,
                    "subject_code": code,
                }
                self._office("POST", "/assignments", "/assignments", body)
            body = {"kind": "homeroom_teacher", "teacher_id": klass.homeroom.id, "class_id": klass.id}
            self._office("POST", "/assignments", "/assignments", body)

        self._parallel(made, assign)
        seats = [(klass, seat) for klass in made for seat in range(1, klass.headcount + 1)]
        lock = threading.Lock()

        def enrol(item: tuple[SchoolClass, int]) -> None:
            klass, seat = item
            rng = random.Random(f"{klass.name}/{seat}")
            born = 2026 - int(klass.name[:2]) - 5  # grade 10 in 2026-2027: born 2011
            body = {
                "national_id": "".join(rng.choice("0123456789") for _ in range(12)),
                "full_name": f"Học Sinh {klass.name} Số {seat:02d}",
                "date_of_birth": f"{born}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "gender": rng.choice(("male", "female")),
                "birthplace": "Thái Bình",
                "class_id": klass.id,
                "enrolled_on": "2026-09-05",
            }
            student = self._office("POST", "/students", "/students", body)
            with lock:
                klass.student_ids.append(str(student["id"]))

        self._parallel(seats, enrol)
        school = School(tag, school_year, made)
        self._parallel(made, self._wait_for_sheets)
        self.log(f"grades has {school.sheets} sheets; filling scores, conduct, personal data")
        self._parallel([(k, c) for k in made for c in subjects], self._fill_scores)
        self._parallel(made, self._conduct_and_checks)
        self.seed_s = time.monotonic() - started
        self.log(f"seeded in {self.seed_s:.0f} s")
        return school

    def _wait_for_sheets(self, klass: SchoolClass) -> None:
        """Grades has the class's 24 sheets (HK1, HK2 of each subject), each with every student."""
        by_teacher: dict[str, list[str]] = defaultdict(list)
        for code, teacher in klass.teachers.items():
            by_teacher[teacher.username].append(code)

        def complete() -> list[str] | None:
            ids: list[str] = []
            for username, codes in by_teacher.items():
                answer = self.http.call(username, "grades", "GET", "/sheets", "/sheets", expect=(200, 503))
                if answer.status_code != 200:
                    return None
                mine = [
                    s for s in answer.json() if s["class_name"] == klass.name and s["subject_code"] in codes
                ]
                if len(mine) != 2 * len(codes):
                    return None
                ids += [s["id"] for s in mine]
            return ids

        klass.sheet_ids = wait_until(f"{klass.name}'s sheets in grades", complete, timeout=600, every=1.0)
        owner = next(iter(klass.teachers.values())).username
        wait_until(
            f"{klass.name}'s students in grades",
            lambda: (
                len(
                    self.http.json(
                        owner, "grades", "GET", f"/sheets/{klass.sheet_ids[0]}/scores", "/sheets/{id}/scores"
                    )["rows"]
                )
                == klass.headcount
            ),
            timeout=600,
            every=1.0,
        )

    def _fill_scores(self, item: tuple[SchoolClass, str]) -> None:
        klass, code = item
        teacher = klass.teachers[code].username
        for sheet in self.http.json(teacher, "grades", "GET", "/sheets", "/sheets"):
            if sheet["class_name"] != klass.name or sheet["subject_code"] != code:
                continue
            scores = self.http.json(
                teacher, "grades", "GET", f"/sheets/{sheet['id']}/scores", "/sheets/{id}/scores"
            )
            meta = scores["sheet"]
            rng = random.Random(sheet["id"])

            def mark(meta: dict[str, Any] = meta, rng: random.Random = rng) -> str:
                return "Đ" if meta["assessment"] == "comment" else str(rng.randint(5, 10))

            rows = [
                {
                    "student_id": row["student_id"],
                    "regular": [mark() for _ in range(meta["regular_count"])],
                    "midterm": mark(),
                    "final": mark(),
                }
                for row in scores["rows"]
            ]
            body = {"expected_version": meta["version"], "rows": rows}
            self.http.call(
                teacher, "grades", "PUT", f"/sheets/{sheet['id']}/scores", "/sheets/{id}/scores", json=body
            )

    def _conduct_and_checks(self, klass: SchoolClass) -> None:
        """The homeroom teacher's part before step 2: conduct of both terms, personal data checked."""
        who = klass.homeroom.username
        path = f"/classes/{klass.name}/conduct"
        students = self.http.json(who, "grades", "GET", path, "/classes/{name}/conduct")
        rows = [
            {"student_id": s["student_id"], "term": t, "conduct": "T"}
            for s in students
            for t in ("HK1", "HK2")
        ]
        self.http.call(who, "grades", "PUT", path, "/classes/{name}/conduct", json={"rows": rows})
        self._verify_personal_data(klass)

    def _verify_personal_data(self, klass: SchoolClass) -> None:
        body = {"student_ids": klass.student_ids, "confirmed": True}
        path = f"/review/classes/{klass.name}/personal-data/verify-all"
        self.http.call(
            klass.homeroom.username,
            "grades",
            "POST",
            path,
            "/review/classes/{name}/personal-data/verify-all",
            json=body,
        )

    # ---------------------------------------------------------------------------------- run

    def run(self, school: School, *, event_probes: int = 20, single_sheets: int = 10) -> YearEndReport:
        """Steps 1–4 on a seeded school (see the module's docstring)."""
        report = YearEndReport(
            classes=len(school.classes),
            students=school.students,
            sheets=school.sheets,
            seed_s=getattr(self, "seed_s", 0.0),
        )
        self.http.latencies.clear()
        report.event_latency_ms = self.event_latency(school, event_probes)
        for username in {
            PRINCIPAL,
            VICE_PRINCIPAL,
            *school.teachers(),
            *(k.homeroom.username for k in school.classes),
        }:
            self._ensure_pin(username)
        report.single_sheet_s = self._single_sheets(school, single_sheets)
        self._timed(report, 1, lambda: self._step1(school, report))
        self._timed(report, 2, lambda: self._step23(school, report, "homeroom"))
        self._timed(report, 3, lambda: self._step23(school, report, "vice_principal"))
        with self.around_step4():
            self._timed(report, 4, lambda: self._step4(school, report))
        report.requests = {route: list(values) for route, values in self.http.latencies.items()}
        report.batches = list(self.batches)
        report.signed_again = self.signed_again
        report.failures = dict(self.http.failures)
        return report

    def _timed(self, report: YearEndReport, step: int, action: Callable[[], None]) -> None:
        started = time.monotonic()
        action()
        report.steps_s[step] = time.monotonic() - started
        self.log(f"step {step}: {report.steps_s[step]:.1f} s")

    def event_latency(self, school: School, probes: int) -> list[float]:
        """Identity's answer to a student's change of address → grades shows the new address; the
        check is then made again (the change voids the homeroom teacher's Đ6.1 check)."""
        found: list[float] = []
        touched: dict[str, SchoolClass] = {}
        for n in range(probes):
            klass = school.classes[n % len(school.classes)]
            student_id = klass.student_ids[n // len(school.classes) % len(klass.student_ids)]
            address = f"Số {self._next()} đường Lý Bôn, Thái Bình"
            self.http.call(
                OFFICE, "identity", "PATCH", f"/students/{student_id}", "/students/{id}",
                json={"reason": "Đổi địa chỉ", "address": address},
            )  # fmt: skip
            answered = time.monotonic()
            path = f"/review/classes/{klass.name}/personal-data"

            def shown(
                path: str = path,
                student_id: str = student_id,
                address: str = address,
                klass: SchoolClass = klass,
            ) -> bool:
                lines = self.http.json(
                    klass.homeroom.username, "grades", "GET", path, "/review/classes/{name}/personal-data"
                )
                return any(
                    line["student_id"] == student_id and line["data"].get("address") == address
                    for line in lines
                )

            wait_until("a student's change in grades", shown, timeout=60, every=0.01)
            found.append((time.monotonic() - answered) * 1000)
            touched[klass.name] = klass
        for klass in touched.values():
            self._verify_personal_data(klass)
        return found

    def _single_sheets(self, school: School, count: int) -> list[float]:
        """Sheets of different teachers signed one after another, each alone: request → shown
        signed on the sheet's own page (polled every 20 ms)."""
        found: list[float] = []
        for username, teaching in sorted(school.teachers().items())[:count]:
            names = {(k.name, code) for k, code in teaching}
            sheet = next(
                s for s in self.http.json(username, "grades", "GET", "/sheets", "/sheets")
                if (s["class_name"], s["subject_code"]) in names and s["state"] == "open"
            )  # fmt: skip
            activation = self._activate(username, subject_ids=[sheet["id"]])
            submitted = self.http.json(
                username, "grades", "POST", f"/sheets/{sheet['id']}/submit", "/sheets/{id}/submit",
                json={"expected_version": sheet["version"]},
            )  # fmt: skip
            path = f"/sheets/{sheet['id']}"
            self.http.call(
                username, "grades", "POST", f"{path}/sign", "/sheets/{id}/sign",
                json={"expected_version": submitted["version"], "activation_id": activation}, expect=(202,),
            )  # fmt: skip
            asked = time.monotonic()

            def signed(username: str = username, path: str = path) -> bool:
                return bool(
                    self.http.json(username, "grades", "GET", path, "/sheets/{id}")["state"] == "signed"
                )

            wait_until("a single sheet signed", signed, timeout=120, every=0.02)
            found.append(time.monotonic() - asked)
        return found

    def _step1(self, school: School, report: YearEndReport) -> None:
        """Each subject teacher submits and signs each of their sheets (a PIN activation each),
        watching their list meanwhile until every one shows signed."""
        latencies: list[float] = []
        lock = threading.Lock()

        def teacher(item: tuple[str, list[tuple[SchoolClass, str]]]) -> None:
            username, teaching = item
            names = {(k.name, code) for k, code in teaching}
            mine = [
                s for s in self.http.json(username, "grades", "GET", "/sheets", "/sheets")
                if (s["class_name"], s["subject_code"]) in names and s["state"] != "signed"
            ]  # fmt: skip
            requested: dict[str, float] = {}
            """Sheet → when its signature was requested; `watch` takes it off once shown signed."""
            asked = threading.Lock()
            all_asked = threading.Event()
            tries: Counter[str] = Counter()

            def all_signed() -> bool:
                with asked:
                    waiting = dict(requested)  # before the list: a sheet asked after it is not in it
                now = time.monotonic()
                for s in self.http.json(username, "grades", "GET", "/sheets", "/sheets"):
                    if s["id"] in waiting and s["state"] == "signed":
                        with asked:
                            requested.pop(s["id"])
                        with lock:
                            latencies.append(now - waiting[s["id"]])
                    elif s["id"] in waiting and s["state"] == "submitted":
                        # Signing failed and said so: the teacher signs it again, as the page offers.
                        tries[s["id"]] += 1
                        if tries[s["id"]] > self.sign_again:
                            raise YearEndError(
                                f"sheet {s['id']} failed {tries[s['id']]} times: {s.get('last_error')}"
                            )
                        self._count_again()
                        activation = self._activate(username, subject_ids=[s["id"]])
                        body = {"expected_version": s["version"], "activation_id": activation}
                        path = f"/sheets/{s['id']}/sign"
                        self.http.call(
                            username, "grades", "POST", path, "/sheets/{id}/sign", json=body, expect=(202,)
                        )
                with asked:
                    return all_asked.is_set() and not requested

            def watch() -> None:
                wait_until(f"{username}'s sheets signed", all_signed, timeout=self.step_timeout, every=0.25)

            # The list is watched from the first request on, so each sheet's latency is its own
            # (request → shown signed), not also the time the teacher took to ask for the others.
            with ThreadPoolExecutor(1) as watcher:
                watching = watcher.submit(watch)
                try:
                    for sheet in mine:
                        activation = self._activate(username, subject_ids=[sheet["id"]])
                        version = sheet["version"]
                        if sheet["state"] == "open":
                            submitted = self.http.json(
                                username, "grades", "POST", f"/sheets/{sheet['id']}/submit",
                                "/sheets/{id}/submit", json={"expected_version": version},
                            )  # fmt: skip
                            version = submitted["version"]
                        self.http.call(
                            username, "grades", "POST", f"/sheets/{sheet['id']}/sign", "/sheets/{id}/sign",
                            json={"expected_version": version, "activation_id": activation}, expect=(202,),
                        )  # fmt: skip
                        with asked:
                            requested[sheet["id"]] = time.monotonic()
                finally:
                    all_asked.set()
                watching.result()

        self._parallel(sorted(school.teachers().items()), teacher)
        report.sheet_latency_s = latencies

    def _step23(self, school: School, report: YearEndReport, step: str) -> None:
        """Step 2 (each homeroom teacher, their class) or 3 (the vice-principal: each class's
        review sample drawn and passed, then the class signed): one batch per class."""
        number = 2 if step == "homeroom" else 3
        latencies: list[float] = []
        lock = threading.Lock()

        def one_class(klass: SchoolClass) -> None:
            who = klass.homeroom.username if step == "homeroom" else VICE_PRINCIPAL
            if step == "vice_principal":
                self._pass_review_sample(klass)
            started = time.monotonic()
            self._sign_until_done(who, step, [klass.name], f"step {number} of {klass.name}")
            with lock:
                latencies.append(time.monotonic() - started)

        one_class(school.classes[0])  # alone first: a class's own time, not the queue's
        report.class_alone_s[number] = latencies[0]
        self._parallel(school.classes[1:], one_class)
        report.class_latency_s[number] = latencies

    def _pass_review_sample(self, klass: SchoolClass) -> None:
        path = f"/review/classes/{klass.name}/samples"
        sample = self.http.json(
            VICE_PRINCIPAL, "grades", "POST", path, "/review/classes/{name}/samples", expect=(201,)
        )
        for item in sample["items"]:
            sample = self.http.json(
                VICE_PRINCIPAL, "grades", "POST",
                f"/review/samples/{sample['id']}/records/{item['record_id']}/verdict",
                "/review/samples/{id}/records/{id}/verdict", json={"verdict": "correct"},
            )  # fmt: skip
        if sample["state"] != "passed":
            raise YearEndError(f"{klass.name}'s review sample is {sample['state']}")

    def _sign_batch(self, who: str, step: str, class_names: list[str]) -> str:
        """The portal's batch form: the PIN activates one new batch, then grades starts the step."""
        batch_id = str(uuid.uuid4())
        activation = self._activate(who, batch_id=batch_id)
        body = {"step": step, "activation_id": activation, "batch_id": batch_id, "class_names": class_names}
        self.http.call(who, "grades", "POST", "/records/sign", "/records/sign", json=body, expect=(202,))
        with self.http.lock:
            self.batches.append(batch_id)
        return batch_id

    def _wait_batch(self, who: str, batch_id: str, what: str, every: float = 0.5) -> dict[str, Any]:
        """Until grades shows the batch done (the portal's batch page asks every 2 s; 0.5 s here,
        for the timings' precision)."""

        def done() -> dict[str, Any] | None:
            batch: dict[str, Any] = self.http.json(
                who, "grades", "GET", f"/records/batches/{batch_id}", "/records/batches/{id}"
            )
            return batch if batch["done"] else None

        return wait_until(what, done, timeout=self.step_timeout, every=every)

    def _sign_until_done(
        self, who: str, step: str, class_names: list[str], what: str, batch_id: str = ""
    ) -> None:
        """A batch (`batch_id` if started already) until grades shows it done; the records whose
        signature failed are signed again in a new batch, as the signer would, `sign_again` times."""
        for attempt in range(self.sign_again + 1):
            batch = self._wait_batch(who, batch_id or self._sign_batch(who, step, class_names), what)
            if not batch["failed"] and not set(batch["counts"]) - {"homeroom_signed", "reviewed", "approved"}:
                return
            if attempt == self.sign_again:
                raise YearEndError(
                    f"{what}: {batch['counts']}, {len(batch['failed'])} failed: {batch['failed'][:3]}"
                )
            self._count_again(len(batch["failed"]))
            batch_id = ""

    def _count_again(self, n: int = 1) -> None:
        with self.http.lock:
            self.signed_again += n

    def _step4(self, school: School, report: YearEndReport) -> None:
        """The principal signs every class in one batch; signing adds the seal and a document timestamp."""
        started = time.monotonic()
        batch_id = self._sign_batch(PRINCIPAL, "principal", [k.name for k in school.classes])
        report.step4.request_s = time.monotonic() - started
        report.step4.records = school.students

        def reached() -> bool:
            answer = self.http.call(
                PRINCIPAL, "signing", "GET", f"/batches/{batch_id}", "/batches/{id}", expect=(200, 404)
            )
            return answer.status_code == 200 and answer.json()["total"] >= school.students

        wait_until("step 4's requests in signing", reached, timeout=self.step_timeout, every=0.25)
        report.step4.reached_signing_s = time.monotonic() - started
        self._sign_until_done(PRINCIPAL, "principal", [k.name for k in school.classes], "step 4", batch_id)
        report.step4.total_s = time.monotonic() - started

    # -------------------------------------------------------------------------------- check

    def check(self, school: School, *, pdfs: int | None = None) -> Invariants:
        """The invariants after step 4 (see the module's docstring); `pdfs`: how many records'
        PDFs to read (None: every one)."""
        found = Invariants()
        problems = found.problems
        lock = threading.Lock()
        documents: dict[str, str] = {}
        """Record id → its document id (grades' side)."""
        for klass in school.classes:
            listed = self.http.json(
                PRINCIPAL, "grades", "GET", f"/records/classes/{klass.name}", "/records/classes/{name}"
            )
            records = listed["records"]
            found.records += len(records)
            if listed["counts"] != {"approved": klass.headcount}:
                problems.append(
                    f"{klass.name}: records {listed['counts']}, expected {klass.headcount} approved"
                )
            for record in records:
                if record.get("document_id"):
                    documents[str(record["id"])] = str(record["document_id"])
        if found.records != school.students:
            problems.append(f"grades lists {found.records} records for {school.students} students")
        if len(set(documents.values())) != len(documents):
            problems.append("two records share one document")
        sheets = Counter(
            s["state"]
            for username in school.teachers()
            for s in self.http.json(username, "grades", "GET", "/sheets", "/sheets")
            if s["class_name"].startswith(tuple(k.name for k in school.classes))
        )
        if sheets != Counter({"signed": school.sheets}):
            problems.append(f"sheets {dict(sheets)}, expected {school.sheets} signed")
        student_of: dict[str, str] = {}

        def document(item: tuple[str, str]) -> None:
            record_id, document_id = item
            info = self.http.json(PRINCIPAL, "signing", "GET", f"/documents/{document_id}", "/documents/{id}")
            with lock:
                student_of[record_id] = info["subject_id"]
                if info["subject_id"] != record_id:
                    problems.append(
                        f"document {document_id} is of {info['subject_id']}, not record {record_id}"
                    )
                if (info["signature_count"], info["sealed"]) != (4, True):
                    problems.append(
                        f"document {document_id}: {info['signature_count']} signatures, "
                        f"sealed {info['sealed']}"
                    )

        self._parallel(sorted(documents.items()), document)
        found.documents = len(student_of)
        # Nothing stuck in signing: every batch the run started is finished there, none failed.
        for batch_id in self.batches:
            status = self.http.json(PRINCIPAL, "signing", "GET", f"/batches/{batch_id}", "/batches/{id}")
            if status["pending"] or status["failed"]:
                problems.append(
                    f"signing's batch {batch_id}: {status['pending']} pending, {status['failed']} failed "
                    f"of {status['total']}"
                )
        if len(documents) != school.students:
            problems.append(f"{len(documents)} records have a document, expected {school.students}")
        # Sealed exactly once, and no signature made twice: signing's own documents table.
        per_role: Counter[tuple[str, str]] = Counter()
        sealed: Counter[str] = Counter()
        for subject_id, role, is_sealed in signing_documents(self.stack):
            if subject_id in documents:
                per_role[(subject_id, role)] += 1
                sealed[subject_id] += bool(is_sealed)
        found.repeated_signatures = sum(n - 1 for n in per_role.values())
        twice = [r for r, n in sealed.items() if n > 1]
        never = [r for r in documents if sealed.get(r, 0) == 0]
        if twice:
            problems.append(f"{len(twice)} records sealed more than once in signing")
        if never:
            problems.append(f"{len(never)} records with no sealed document in signing")
        chosen = sorted(documents.items())
        if pdfs is not None:
            chosen = random.Random(0).sample(chosen, min(pdfs, len(chosen)))

        def read_pdf(item: tuple[str, str]) -> None:
            _, document_id = item
            content = self.http.call(
                PRINCIPAL, "signing", "GET", f"/documents/{document_id}/pdf", "/documents/{id}/pdf"
            ).content
            trouble = pdf_problems(content)
            with lock:
                found.pdfs_read += 1
                problems.extend(f"document {document_id}: {t}" for t in trouble)

        self._parallel(chosen, read_pdf)
        return found


def pdf_problems(content: bytes) -> list[str]:
    """What is wrong with a sealed record's PDF: each role's signature exactly once, in order, and
    one document timestamp after them."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    signatures = PdfFileReader(io.BytesIO(content)).embedded_signatures
    fields = [s.field_name for s in signatures if s.sig_object_type == "/Sig"]
    stamps = [s for s in signatures if s.sig_object_type == "/DocTimeStamp"]
    trouble = []
    roles = Counter(fields)
    for role in RECORD_ROLES:
        if roles[role] != 1:
            trouble.append(f"{roles[role]} signatures in field {role}")
    if fields != list(RECORD_ROLES):
        trouble.append(f"signature fields {fields}")
    if len(stamps) != 1 or signatures[-1].sig_object_type != "/DocTimeStamp":
        trouble.append(f"{len(stamps)} document timestamps (must be one, last)")
    return trouble


def signing_documents(stack: Stack) -> list[tuple[str, str, bool]]:
    """(record id, signer role, sealed) of every year-record version signing stored, read from its
    database (the API shows only the newest version of a record)."""
    query = "SELECT subject_id, signer_role, sealed FROM documents WHERE kind = 'year_record'"
    url = stack.database_urls.get("signing")
    if url is None or url.startswith("sqlite"):
        path = url.split("///", 1)[1] if url else str(stack.data_dir / "signing.sqlite3")
        with contextlib.closing(sqlite3.connect(path)) as connection:
            rows = connection.execute(query).fetchall()
    else:
        import asyncpg  # type: ignore[import-untyped]

        async def fetch() -> list[Any]:
            connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
            try:
                return list(await connection.fetch(query))
            finally:
                await connection.close()

        rows = asyncio.run(fetch())
    return [(str(uuid.UUID(str(row[0]))), str(row[1]), bool(row[2])) for row in rows]


def year_end(
    stack: Stack, classes: int = FULL_SCHOOL, *, pdfs: int | None = None, **options: Any
) -> tuple[School, YearEndReport, Invariants]:
    """Seed `classes` classes, run steps 1–4, check the invariants (see the module's docstring)."""
    with YearEndDriver(stack, **options) as made:
        school = made.seed(classes)
        report = made.run(school)
        return school, report, made.check(school, pdfs=pdfs)
