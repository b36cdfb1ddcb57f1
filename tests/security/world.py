"""The test world of the security suite: the demo school's people and objects, plus a few the
suite creates through the APIs (so no demo person's password, PIN or data changes)."""

from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from hbs_devtools.demo import DEMO_PARENT, DEMO_PASSWORD, demo_person
from hbs_devtools.drive import SystemClient
from hbs_identity.demo import DEMO_YEAR, demo_id

OWN_PASSWORD = "Kiem-tra-bao-mat-2026!"
ABSENT_CODE = "ZZZZZZZZZZ"
HTTP = httpx.Client(timeout=120)
"""Plain calls of the suite: patient, the machine running the stack may be busy."""
DEMO_LOGINS = (
    "gv.toan",
    "gv.van",
    "phohieutruong",
    "hieutruong",
    "quantri",
    "phuhuynh.demo",
    "0341008001",
    # The demo's second school and the province (issue 14).
    "gv.toan.pc",
    "hieutruong.pc",
    "quantri.pc",
    "so.gddt",
)


def digits(count: int) -> str:
    return "".join(random.choice("0123456789") for _ in range(count))


def form_value(page: str, name: str) -> str | None:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    return found.group(1) if found else None


def portal_sign_in(portal: httpx.Client, login: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    """The sign-in form as a browser sends it, with its CSRF token when the page has one."""
    form = {"username": login, "password": password}
    csrf = form_value(portal.get("/login").text, "csrf")
    if csrf is not None:
        form["csrf"] = csrf
    return portal.post("/login", data=form)


def sign_in(system: SystemClient, login: str, password: str = DEMO_PASSWORD) -> str:
    """An access token (SystemClient.token, with the suite's patient timeout)."""
    url = system.stack.url("identity") + "/auth/token"
    answer = HTTP.post(url, json={"username": login, "password": password})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def check(response: httpx.Response, *expected: int) -> Any:
    assert response.status_code in expected, f"{response.request.method} {response.request.url.path}: " + (
        f"{response.status_code} {response.text[:500]}"
    )
    return response.json() if response.headers.get("content-type", "").endswith("json") else None


def initial_password(system: SystemClient, account_id: str) -> tuple[str, str]:
    """A new initial password for an account the suite made: (login, password). A signer's account
    may need a second board member's approval (hole 2); then the principal approves it."""
    with system.client("identity", sign_in(system, "quantri")) as admin:
        answer = admin.post(f"/accounts/{account_id}/password")
        if answer.status_code == 200:
            body = answer.json()
            return str(body["login"]), str(body["initial_password"])
        assert answer.status_code == 409, answer.text
        requested = check(
            admin.post(
                f"/accounts/{account_id}/factor-resets",
                json={"factor": "password", "reason": "Tài khoản mới của bộ kiểm thử bảo mật"},
            ),
            200,
            201,
        )
    with system.client("identity", sign_in(system, "hieutruong")) as board:
        approved = check(board.post(f"/factor-resets/{requested['id']}/approve"), 200, 201)
    # The approver hands the new password over; a staff member signs in with their username.
    with system.client("identity", sign_in(system, "quantri")) as admin:
        account = check(admin.get(f"/accounts/{account_id}"), 200)
    return str(account["username"]), str(approved["initial_password"])


def first_sign_in(system: SystemClient, login: str, password: str) -> str:
    """Sign in with a school-issued password (restricted token), change it, sign in again."""
    identity = system.stack.url("identity")
    first = check(HTTP.post(identity + "/auth/token", json={"username": login, "password": password}), 200)
    if first["must_change_password"]:
        check(
            HTTP.post(
                identity + "/auth/password",
                json={"current_password": password, "new_password": OWN_PASSWORD},
                headers={"authorization": f"Bearer {first['access_token']}"},
            ),
            200,
        )
        password = OWN_PASSWORD
    again = check(HTTP.post(identity + "/auth/token", json={"username": login, "password": password}), 200)
    assert not again["must_change_password"]
    return str(again["access_token"])


TOKEN_REFRESH_SECONDS = 240.0
"""Identity's access tokens live 5 minutes (`HBS_IDENTITY_ACCESS_TOKEN_MINUTES`)."""


@dataclass
class World:
    system: SystemClient
    tokens: dict[str, str] = field(default_factory=dict)
    """Login → a full access token (demo people and the suite's own)."""
    logins: dict[str, str] = field(default_factory=dict)
    """The suite's callers "@teacher" and "@parent" → their login."""
    passwords: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """Object label → the values its path parameters and bodies take."""
    class_name: str = ""
    template: bytes = b""
    signed_in_at: float = field(default_factory=time.monotonic)
    """When the oldest of `tokens` was issued (the world is built at the start of the session)."""

    def token(self, login: str | None) -> str | None:
        """A token of `login` that has a minute left at least: the world is the session's, and a
        module may use it long after another built it (the whole-stack modules run first)."""
        if login is None:
            return None
        if time.monotonic() - self.signed_in_at > TOKEN_REFRESH_SECONDS:
            self.refresh_tokens()
        return self.tokens[self.logins.get(login, login)]

    def refresh_tokens(self) -> None:
        """Access tokens live 5 minutes: sign everyone in again before a long step."""
        identity = self.system.stack.url("identity")
        self.signed_in_at = time.monotonic()
        for login in list(self.tokens):
            password = self.passwords.get(login, DEMO_PASSWORD)
            answer = HTTP.post(identity + "/auth/token", json={"username": login, "password": password})
            self.tokens[login] = check(answer, 200)["access_token"]


def _wait(what: str, probe: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def build_world(system: SystemClient) -> World:
    world = World(system)
    for login in DEMO_LOGINS:
        world.tokens[login] = sign_in(system, login)
    admin_token = world.tokens["quantri"]
    with system.client("identity", admin_token) as identity:
        classes = {c["name"]: c["id"] for c in check(identity.get("/classes"), 200)}
        year = next(y for y in check(identity.get("/school-years"), 200) if y["current"])
        # The suite's own class, student X, a parent of X only, a teacher with no assignment.
        world.class_name = f"12 Kiểm tra {digits(4)}"
        own_class = check(
            identity.post(
                "/classes", json={"name": world.class_name, "grade_level": 12, "school_year": DEMO_YEAR}
            ),
            201,
        )
        student = check(
            identity.post(
                "/students",
                json={
                    "full_name": "Đào Thị Kiểm Tra",
                    "date_of_birth": "2010-03-04",
                    "birthplace": "Thái Bình",
                    "gender": "female",
                    "national_id": "0341" + digits(8),
                    "class_id": own_class["id"],
                    "enrolled_on": "2026-09-05",
                },
            ),
            201,
        )
        phone = "09" + digits(8)
        parent = check(
            identity.post(
                "/parents",
                json={
                    "full_name": "Đào Văn Ngoài",
                    "phone": phone,
                    "children": [{"student_id": student["id"], "relationship": "father"}],
                },
            ),
            201,
        )
        teacher = check(
            identity.post(
                "/staff",
                json={
                    "username": f"gv.ngoai{digits(5)}",
                    "full_name": "Lưu Văn Ngoài",
                    "roles": ["subject_teacher"],
                },
            ),
            201,
        )
        toan_assignment = next(
            a for a in check(identity.get("/assignments"), 200) if a["teacher_name"] == "Nguyễn Thị Hoa"
        )
        department = next(d for d in check(identity.get("/departments"), 200) if d["name"] == "Tổ Toán")
        world.template = identity.get("/imports/students/template").content
    for caller, account_id in (("@parent", parent["id"]), ("@teacher", teacher["id"])):
        login, password = initial_password(system, account_id)
        world.logins[caller] = login
        world.tokens[login] = first_sign_in(system, login, password)
        world.passwords[login] = OWN_PASSWORD

    # Grades builds its sheets and records from identity's events.
    with system.client("grades", world.tokens["hieutruong"]) as grades:
        sheets = _wait("grades' sheets", lambda: check(grades.get("/sheets"), 200))

        def records_of(class_name: str) -> dict[str, str]:
            found = check(grades.get(f"/records/classes/{class_name}"), 200)
            return {r["student_id"]: r["id"] for r in found["records"]}

        records = {**records_of("10A1"), **records_of("11 Toán chuyên")}

    def sheet(subject_code: str) -> str:
        return str(
            next(
                s["id"]
                for s in sheets
                if s["class_name"] == "10A1" and s["subject_code"] == subject_code and s["term"] == "HK1"
            )
        )

    toan = demo_person("gv.toan")
    a = str(demo_id("student", f"{DEMO_YEAR}:10A1:1"))
    b = str(demo_id("student", f"{DEMO_YEAR}:11 Toán chuyên:1"))
    c = str(demo_id("student", f"{DEMO_YEAR}:10A2:1"))
    absent = str(uuid.uuid4())
    world.values = {
        "NONE": {},
        "S_TOAN": {"sheet_id": sheet("TOAN")},
        "S_VAN": {"sheet_id": sheet("NGU_VAN")},
        "K_10A1": {
            "class_id": classes["10A1"],
            "class_name": "10A1",
            "subject_code": "TOAN",
            "teacher_id": str(toan.user_id),
        },
        "K_11TC": {
            "class_id": classes["11 Toán chuyên"],
            "class_name": "11 Toán chuyên",
            "subject_code": "TOAN",
            "teacher_id": str(toan.user_id),
        },
        "A": {"student_id": a, "class_id": classes["10A1"]},
        "B": {"student_id": b, "class_id": classes["11 Toán chuyên"]},
        "C": {"student_id": c, "class_id": classes["10A2"]},
        "X": {
            "student_id": student["id"],
            "class_id": own_class["id"],
            "national_id": student["national_id"],
        },
        "R_A": {"record_id": records[a]},
        "R_B": {"record_id": records[b]},
        "P_DEMO": {
            "parent_id": str(DEMO_PARENT.user_id),
            "full_name": DEMO_PARENT.full_name,
            "student_id": b,
        },
        "P_OUT": {"parent_id": parent["id"], "full_name": parent["full_name"], "student_id": student["id"]},
        "LINK_DEMO": {"parent_id": str(DEMO_PARENT.user_id), "student_id": a},
        "T_TOAN": {"staff_id": str(toan.user_id), "full_name": toan.full_name, "user_id": str(toan.user_id)},
        "T_OUT": {"staff_id": teacher["id"], "full_name": teacher["full_name"], "user_id": teacher["id"]},
        "ACC_TOAN": {"account_id": str(toan.user_id), "user_id": str(toan.user_id)},
        "ACC_PARENT": {"account_id": str(DEMO_PARENT.user_id), "user_id": str(DEMO_PARENT.user_id)},
        "U_TOAN": {"user_id": str(toan.user_id)},
        "Y_CUR": {"year_id": year["id"]},
        "D_TOAN": {"department_id": department["id"]},
        "AS_TOAN": {"assignment_id": toan_assignment["id"]},
        "SUBJ_TOAN": {"subject_code": "TOAN"},
        "KIND_STUDENTS": {"kind": "students"},
        "ABSENT": {"code": ABSENT_CODE, "*": absent},
    }
    return world


def new_parent(world: World, *, name: str = "Hồ Thị Thử") -> tuple[str, str, str]:
    """A parent of the suite's own student X with a school-issued password: (id, login, password).
    Parents do not sign, so one admin may issue it."""
    with world.system.client("identity", sign_in(world.system, "quantri")) as identity:
        parent = check(
            identity.post(
                "/parents",
                json={
                    "full_name": name,
                    "phone": "09" + digits(8),
                    "children": [{"student_id": world.values["X"]["student_id"], "relationship": "guardian"}],
                },
            ),
            201,
        )
        issued = check(identity.post(f"/accounts/{parent['id']}/password"), 200)
    return str(parent["id"]), str(issued["login"]), str(issued["initial_password"])
