"""A small year end driven over HTTP, made to keep going while faults hit the services.

Every call is retried while a service is down or restarting (connection refused, 5xx), and every
step is driven from the state grades reports, so a request whose answer was lost with a killed
service is neither forgotten nor sent twice: a sheet in `signing` is waited for, never signed
again; a class whose records came back unsigned (a refused request) gets a new batch.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from hbs_devtools.drive import SIGNING_PIN, SystemClient
from tests.factories import SchoolClass, SchoolFactory

CALL_TIMEOUT = 240.0
"""How long one call keeps being retried while its service is down (restarts back off)."""
STEP_TIMEOUT = float(os.environ.get("HBS_FAULTS_STEP_TIMEOUT", "180"))
"""How long a step may take before the run stops and judges what it has (a stuck step never ends)."""

RECORD_STEPS = {
    2: ("homeroom", "homeroom_signed"),
    3: ("vice_principal", "reviewed"),
    4: ("principal", "approved"),
}


def call(
    system: SystemClient, service: str, token: str | None, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    """One HTTP call, retried until it gets an answer that is not a server error."""
    deadline = time.monotonic() + CALL_TIMEOUT
    last = ""
    while True:
        try:
            with system.client(service, token) as client:
                answer = client.request(method, path, **kwargs)
            if answer.status_code < 500:
                return answer
            last = f"{answer.status_code} {answer.text[:200]}"
        except httpx.TransportError as error:
            last = repr(error)
        if time.monotonic() > deadline:
            raise AssertionError(f"{method} {service}{path}: no answer in {CALL_TIMEOUT} s (last: {last})")
        time.sleep(0.5)


@dataclass
class YearEnd:
    system: SystemClient
    school: SchoolFactory
    classes: list[SchoolClass]

    @classmethod
    def seed(cls, system: SystemClient, school: SchoolFactory, classes: int, students: int) -> YearEnd:
        """`classes` classes of `students` each, two subjects, every sheet scored, conduct set and the
        students' personal data checked (what step 2 waits for), every signer with a PIN."""
        made = [school.school_class(students=students, subjects=("TOAN", "NGU_VAN")) for _ in range(classes)]
        for klass in made:
            for teacher in klass.teachers.values():
                token = system.token(teacher.username)
                system.ensure_pin(token)
                for sheet in system.sheets(token):
                    if sheet["class_name"] == klass.name:
                        school.fill_scores(teacher, sheet["id"])
            assert klass.homeroom is not None
            token = system.token(klass.homeroom.username)
            system.ensure_pin(token)
            rows = [
                {"student_id": s.id, "term": term, "conduct": "T"}
                for s in klass.students
                for term in ("HK1", "HK2")
            ]
            with system.client("grades", token) as grades:
                saved = grades.put(f"/classes/{klass.name}/conduct", json={"rows": rows})
            assert saved.status_code == 200, saved.text
            school.verify_students(klass)
        for board in ("phohieutruong", "hieutruong"):
            system.ensure_pin(system.token(board))
        return cls(system, school, made)

    @property
    def class_names(self) -> list[str]:
        return [k.name for k in self.classes]

    def token(self, username: str) -> str:
        deadline = time.monotonic() + CALL_TIMEOUT
        while True:
            try:
                return self.system.token(username)
            except (httpx.TransportError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    # --- step 1 -----------------------------------------------------------------------------------

    def step1(self) -> None:
        """Every teacher submits and signs each of their sheets of these classes."""
        pending: list[tuple[str, str]] = []
        for klass in self.classes:
            for teacher in klass.teachers.values():
                token = self.token(teacher.username)
                for sheet in call(self.system, "grades", token, "GET", "/sheets").json():
                    if sheet["class_name"] == klass.name:
                        self.sign_sheet(token, sheet["id"])
                        pending.append((teacher.username, sheet["id"]))
        deadline = time.monotonic() + STEP_TIMEOUT
        while pending:
            assert time.monotonic() < deadline, f"{len(pending)} sheets not signed: {pending[:3]}"
            left = []
            for username, sheet_id in pending:
                if not self.sign_sheet(self.token(username), sheet_id):
                    left.append((username, sheet_id))
            pending = left
            if pending:
                time.sleep(0.3)

    def sign_sheet(self, token: str, sheet_id: str) -> bool:
        """Moves the sheet on from where grades says it is; True once it is signed."""
        for _ in range(5):
            sheet = call(self.system, "grades", token, "GET", f"/sheets/{sheet_id}").json()
            state = sheet["state"]
            if state in ("signed", "signing"):
                return bool(state == "signed")
            if state == "open":
                call(
                    self.system,
                    "grades",
                    token,
                    "POST",
                    f"/sheets/{sheet_id}/submit",
                    json={"expected_version": sheet["version"]},
                )
                continue
            activation = call(
                self.system,
                "signing",
                token,
                "POST",
                "/activations",
                json={"pin": SIGNING_PIN, "subject_ids": [sheet_id]},
            )
            assert activation.status_code == 201, activation.text
            signed = call(
                self.system,
                "grades",
                token,
                "POST",
                f"/sheets/{sheet_id}/sign",
                json={
                    "expected_version": sheet["version"],
                    "activation_id": activation.json()["activation_id"],
                },
            )
            # 409: the sheet moved meanwhile (an earlier answer was lost): look again.
            assert signed.status_code in (202, 409), signed.text
        return False

    # --- steps 2 to 4 -------------------------------------------------------------------------

    def signers(self, step: int) -> list[tuple[str, list[str]]]:
        """Who signs which classes at this step (one batch each)."""
        if step == 2:
            return [(k.homeroom.username, [k.name]) for k in self.classes if k.homeroom is not None]
        return [("phohieutruong" if step == 3 else "hieutruong", self.class_names)]

    def prepare(self, step: int) -> None:
        """Đ4.2 before step 3: the vice-principal's sample of each class passed."""
        if step == 3:
            for klass in self.classes:
                self.school.pass_review_sample(klass)

    def records_step(self, step: int) -> Callable[[], None]:
        def run() -> None:
            name, target = RECORD_STEPS[step]
            for username, class_names in self.signers(step):
                self.sign_records(username, name, target, class_names)

        return run

    def sign_records(self, username: str, step: str, target: str, class_names: list[str]) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            token = self.token(username)
            states = self.states(token, class_names)
            if set(states) == {target}:
                return
            assert time.monotonic() < deadline, f"{step}: records {states} after {STEP_TIMEOUT} s"
            if any(s.startswith("signing_") for s in states):
                time.sleep(0.3)  # a batch is on its way (perhaps one whose answer was lost)
                continue
            self.start_batch(token, step, class_names)

    def start_batch(self, token: str, step: str, class_names: list[str]) -> None:
        batch_id = str(uuid.uuid4())
        activation = call(
            self.system,
            "signing",
            token,
            "POST",
            "/activations",
            json={"pin": SIGNING_PIN, "batch_id": batch_id},
        )
        assert activation.status_code == 201, activation.text
        body = {
            "step": step,
            "activation_id": activation.json()["activation_id"],
            "batch_id": batch_id,
            "class_names": class_names,
        }
        started = call(self.system, "grades", token, "POST", "/records/sign", json=body)
        # 409: the records moved meanwhile (an earlier batch's answer was lost): look again.
        assert started.status_code in (202, 409), started.text

    def states(self, token: str, class_names: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name in class_names:
            listed = call(self.system, "grades", token, "GET", f"/records/classes/{name}")
            assert listed.status_code == 200, listed.text
            for state, n in listed.json()["counts"].items():
                counts[state] = counts.get(state, 0) + n
        return counts
