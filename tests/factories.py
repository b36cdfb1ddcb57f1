"""A test module's own school data on the shared stack, made through identity's API as the office
makes it: a class with its students, teachers, homeroom teacher and parents. Grades learns them
from identity's events, exactly as it learns the demo school; the demo classes stay untouched, so
no test starts from what another one left.

Everyone made here signs in with PASSWORD (their first password is changed at once; identity
refuses the public demo password to anyone but the demo logins): `password_of(username)` gives
the password of a demo login or of someone made here, and the `system` fixture signs both in.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.drive import SystemClient

T = TypeVar("T")

OFFICE = "quantri"
"""The demo office (and system) admin: the one demo person the factory acts as."""
FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
GIVEN_NAMES = ("An", "Bình", "Chi", "Dũng", "Giang", "Hạnh", "Khánh", "Linh", "Minh", "Ngọc", "Phúc", "Quân")
_serial = itertools.count(1)
PASSWORD = "thu-nghiem-HBS-2026"
_made: set[str] = set()


def password_of(username: str) -> str:
    """The password of someone made here, or the demo password of a demo login."""
    return PASSWORD if username in _made else DEMO_PASSWORD


class FactorySystem(SystemClient):
    """The running stack; signs in the factory's people with their own password."""

    def token(self, username: str) -> str:
        with self.client("identity") as identity:
            response = identity.post(
                "/auth/token", json={"username": username, "password": password_of(username)}
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


def wait_until(
    what: str | Callable[[], str], probe: Callable[[], T | None], timeout: float = 90, every: float = 0.2
) -> T:
    """Poll `probe` until it returns something truthy (events cross the broker in well under a second)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what() if callable(what) else what}"
        time.sleep(every)


@dataclass(frozen=True)
class Person:
    id: str
    username: str
    full_name: str


@dataclass(frozen=True)
class SchoolClass:
    """A class made for one test module: its students in the order grades lists them."""

    id: str
    name: str
    school_year: str
    students: list[Person]
    teachers: dict[str, Person]
    """Subject code → the subject teacher."""
    homeroom: Person | None
    parents: list[Person] = field(default_factory=list)


class SchoolFactory:
    """Makes classes and people through identity's office API (as `quantri`)."""

    def __init__(self, system: SystemClient) -> None:
        self.system = system
        self.tag = uuid.uuid4().hex[:4].upper()
        self._office_token = system.token(OFFICE)
        self.last_answer = ""

    def identity(self, token: str | None = None) -> httpx.Client:
        return self.system.client("identity", token or self._office_token)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        with self.identity() as identity:
            answer = identity.post(path, json=body)
        if answer.status_code == 401:  # the office token expired in a long module
            self._office_token = self.system.token(OFFICE)
            with self.identity() as identity:
                answer = identity.post(path, json=body)
        assert answer.status_code in (200, 201), f"{path}: {answer.text}"
        made: dict[str, Any] = answer.json()
        return made

    def current_year(self) -> str:
        with self.identity() as identity:
            years = identity.get("/school-years").json()
        return str(next(y["name"] for y in years if y["current"]))

    def activate_account(self, account_id: str, username: str) -> None:
        """Issue the first password and change it to the demo password, as a person does at first sign-in."""
        initial = self._post(f"/accounts/{account_id}/password")["initial_password"]
        with self.system.client("identity") as identity:
            restricted = identity.post("/auth/token", json={"username": username, "password": initial})
            assert restricted.status_code == 200, restricted.text
            changed = identity.post(
                "/auth/password",
                json={"current_password": initial, "new_password": PASSWORD},
                headers={"authorization": f"Bearer {restricted.json()['access_token']}"},
            )
            assert changed.status_code == 200, changed.text
        _made.add(username)

    def person_name(self) -> str:
        n = next(_serial)
        return f"{random.choice(FAMILY_NAMES)} Văn {self.tag}{n} {GIVEN_NAMES[n % len(GIVEN_NAMES)]}"

    def staff(self, roles: list[str], full_name: str | None = None) -> Person:
        username = f"gv.{self.tag.lower()}{next(_serial)}"
        full_name = full_name or self.person_name()
        made = self._post("/staff", {"username": username, "full_name": full_name, "roles": roles})
        self.activate_account(str(made["id"]), username)
        return Person(str(made["id"]), username, full_name)

    def student(
        self, class_id: str, full_name: str, enrolled_on: str = "2026-09-05", *, login: bool = False
    ) -> Person:
        national_id = "".join(random.choice("0123456789") for _ in range(12))
        made = self._post(
            "/students",
            {
                "national_id": national_id,
                "full_name": full_name,
                "date_of_birth": "2011-03-14",
                "gender": random.choice(("male", "female")),
                "birthplace": "Thái Bình",
                "class_id": class_id,
                "enrolled_on": enrolled_on,
            },
        )
        if login:  # hashing passwords is the slow part: only for students who sign in
            self.activate_account(str(made["id"]), national_id)
        return Person(str(made["id"]), national_id, full_name)

    def parent(self, children: list[Person], full_name: str | None = None) -> Person:
        username = f"ph.{self.tag.lower()}{next(_serial)}"
        full_name = full_name or self.person_name()
        made = self._post(
            "/parents",
            {
                "full_name": full_name,
                "username": username,
                "children": [{"student_id": child.id, "relationship": "mother"} for child in children],
            },
        )
        self.activate_account(str(made["id"]), username)
        return Person(str(made["id"]), username, full_name)

    def school_class(
        self,
        *,
        students: int = 3,
        student_logins: bool = False,
        subjects: tuple[str, ...] = ("TOAN",),
        homeroom: bool = True,
        grade_level: int = 10,
        teachers: dict[str, Person] | None = None,
        homeroom_teacher: Person | None = None,
    ) -> SchoolClass:
        """A new class of this year with `students` students, one new teacher per subject (or the
        given ones) and a new homeroom teacher; returns once grades has its sheets and roster."""
        year = self.current_year()
        name = f"{grade_level}T{self.tag}{next(_serial)}"
        made = self._post("/classes", {"name": name, "grade_level": grade_level, "school_year": year})
        class_id = str(made["id"])
        # Names sorted by given name (grades lists students in Vietnamese order): seat order is known.
        people = [
            self.student(class_id, f"Lê Thị {self.tag} {GIVEN_NAMES[i]}", login=student_logins)
            for i in range(students)
        ]
        assigned = dict(teachers or {})
        for code in subjects:
            teacher = assigned.get(code) or self.staff(["subject_teacher"])
            assigned[code] = teacher
            self._post(
                "/assignments",
                {
                    "kind": "subject_teacher",
                    "teacher_id": teacher.id,
                    "class_id": class_id,
                    "subject_code": code,
                },
            )
        leader: Person | None = None
        if homeroom:
            leader = homeroom_teacher or self.staff(["subject_teacher", "homeroom_teacher"])
            self._post(
                "/assignments", {"kind": "homeroom_teacher", "teacher_id": leader.id, "class_id": class_id}
            )
        made_class = SchoolClass(class_id, name, year, people, assigned, leader)
        self.wait_for_grades(made_class)
        return made_class

    def wait_for_grades(self, made: SchoolClass) -> None:
        """Grades has the class's sheets (HK1 and HK2 of every subject) with every student on them."""
        for code, teacher in made.teachers.items():
            token = self.system.token(teacher.username)

            def sheets(token: str = token, code: str = code) -> list[dict[str, Any]] | None:
                with self.system.client("grades", token) as grades:
                    answer = grades.get("/sheets")
                if answer.status_code != 200:  # e.g. 503 until grades has heard of the school
                    self.last_answer = f"{answer.status_code} {answer.text[:300]}"
                    return None
                found = [
                    s for s in answer.json() if s["class_name"] == made.name and s["subject_code"] == code
                ]
                return found if len(found) == 2 else None

            self.last_answer = ""
            for sheet in wait_until(
                lambda: f"{made.name} sheets in grades (last: {self.last_answer})", sheets
            ):

                def full(token: str = token, sheet_id: str = sheet["id"]) -> bool:
                    with self.system.client("grades", token) as grades:
                        return len(grades.get(f"/sheets/{sheet_id}/scores").json()["rows"]) == len(
                            made.students
                        )

                wait_until(f"{made.name} students on {code}", full)

    def verify_students(self, made: SchoolClass) -> None:
        """Đ6.1 through grades' API, as the class's homeroom teacher does it: every student's front
        page checked field by field against the documents (step 2 waits for it)."""
        assert made.homeroom is not None
        with self.system.client("grades", self.system.token(made.homeroom.username)) as grades:
            listed = grades.get(f"/review/classes/{made.name}/personal-data")
            assert listed.status_code == 200, listed.text
            for line in listed.json():
                if line["status"] != "verified":
                    checked = grades.put(
                        f"/review/students/{line['student_id']}/personal-data",
                        json={"state": "verified", "fields": list(line["data"]), "note": ""},
                    )
                    assert checked.status_code == 200, checked.text

    def pass_review_sample(self, made: SchoolClass, board: str = "phohieutruong") -> dict[str, Any]:
        """Đ4.2 through grades' API, as the vice-principal does it: a sample of the class's records
        drawn and each marked correct (step 3 waits for it). Records must be signed at step 2."""
        with self.system.client("grades", self.system.token(board)) as grades:
            drawn = grades.post(f"/review/classes/{made.name}/samples")
            assert drawn.status_code == 201, drawn.text
            sample: dict[str, Any] = drawn.json()
            for item in sample["items"]:
                marked = grades.post(
                    f"/review/samples/{sample['id']}/records/{item['record_id']}/verdict",
                    json={"verdict": "correct"},
                )
                assert marked.status_code == 200, marked.text
                sample = marked.json()
        assert sample["state"] == "passed", sample
        return sample

    def fill_scores(self, teacher: Person, sheet_id: str, *, seed: int = 0) -> dict[str, Any]:
        """Complete made-up scores for every student of the sheet (as the demo school's sheets come);
        returns grades' answer (the sheet with its new version)."""
        token = self.system.token(teacher.username)
        with self.system.client("grades", token) as grades:
            scores = grades.get(f"/sheets/{sheet_id}/scores").json()
            sheet = scores["sheet"]
            rng = random.Random(f"{sheet_id}/{seed}")

            def mark() -> str:
                return "Đ" if sheet["assessment"] == "comment" else str(rng.randint(5, 10))

            rows = [
                {
                    "student_id": row["student_id"],
                    "regular": [mark() for _ in range(sheet["regular_count"])],
                    "midterm": mark(),
                    "final": mark(),
                }
                for row in scores["rows"]
            ]
            saved = grades.put(
                f"/sheets/{sheet_id}/scores", json={"expected_version": sheet["version"], "rows": rows}
            )
        assert saved.status_code == 200, saved.text
        answer: dict[str, Any] = saved.json()
        return answer
