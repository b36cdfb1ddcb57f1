"""Who may call what, under the regulation: one row per service operation.

Read a row as a sentence: "<method> <path> of <service> may be called by <may>". The words of
`may` are the grants below (roles, or a relation between the caller and the object in the path).
`sees` (when given) says who may know the object exists: anyone else must get 404, so existence is
not disclosed; a caller who sees it but may not act gets 403 (or 404). Everyone refused without a
valid token gets 401. The matrix (`test_matrix.py`) is generated from these rows; the coverage test
(`test_coverage.py`) fails when an operation in a service's OpenAPI has no row here, or a row names
an operation that no longer exists.

To add an operation: add a row (service, method, path exactly as in its OpenAPI), say who may call
it, which kind of object its path names (`objects`, labels from the test world in `conftest.py`),
a valid body for writes (refused callers must be refused for their rights, not their body), and
`destructive=True` when the allowed callers would change shared demo data: then only the refusal
side is probed (and the allowed side only on objects the suite created itself).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------------------- callers


@dataclass(frozen=True)
class Caller:
    """A person of the test world and what they are linked to (the demo school's facts)."""

    name: str
    login: str | None
    roles: frozenset[str] = frozenset()
    teaches: frozenset[str] = frozenset()
    """Class names where the caller teaches a subject."""
    leads: frozenset[str] = frozenset()
    """Class names where the caller is the homeroom teacher."""
    children: frozenset[str] = frozenset()
    """Object labels of the caller's children (a parent)."""
    self_labels: frozenset[str] = frozenset()
    """Object labels that are the caller themself (their student record, parent record, account)."""
    school: str = "A"
    """"A": the demo school, whose objects the world names; "B": the demo's second school, with
    the same class names (10A1, 10A2, 11 Toán chuyên) and none of A's objects; "P": the province."""

    def reaches(self, thing: Thing) -> bool:
        """The caller's own school's object, or one that belongs to no school."""
        return thing.school in ("", self.school)


CALLERS: tuple[Caller, ...] = (
    Caller(
        "subject teacher",
        "gv.toan",
        frozenset({"subject_teacher"}),
        teaches=frozenset({"10A1", "10A2", "11 Toán chuyên"}),
        self_labels=frozenset({"T_TOAN", "ACC_TOAN", "U_TOAN"}),
    ),
    Caller(
        "homeroom teacher",
        "gv.van",
        frozenset({"subject_teacher", "homeroom_teacher"}),
        teaches=frozenset({"10A1"}),
        leads=frozenset({"10A1"}),
    ),
    Caller("vice-principal", "phohieutruong", frozenset({"vice_principal"})),
    Caller("principal", "hieutruong", frozenset({"principal"})),
    Caller("admin", "quantri", frozenset({"system_admin", "office_admin"})),
    Caller(
        "parent",
        "phuhuynh.demo",
        frozenset({"parent"}),
        children=frozenset({"A", "C"}),
        self_labels=frozenset({"P_DEMO", "ACC_PARENT"}),
    ),
    Caller("student", "0341008001", frozenset({"student"}), self_labels=frozenset({"A"})),
    Caller("anonymous", None),
    # The demo's second school (issue 14): same roles, same class names, another school.
    Caller(
        "other school's subject teacher",
        "gv.toan.pc",
        frozenset({"subject_teacher"}),
        teaches=frozenset({"10A1", "10A2", "11 Toán chuyên"}),
        school="B",
    ),
    Caller("other school's principal", "hieutruong.pc", frozenset({"principal"}), school="B"),
    Caller("other school's admin", "quantri.pc", frozenset({"system_admin", "office_admin"}), school="B"),
    Caller("province", "so.gddt", frozenset({"province_admin", "province_officer"}), school="P"),
    # Created by the suite: a teacher with no assignment, a parent of the suite's own student X only.
    Caller("unrelated teacher", "@teacher", frozenset({"subject_teacher"}), self_labels=frozenset({"T_OUT"})),
    Caller(
        "unrelated parent",
        "@parent",
        frozenset({"parent"}),
        children=frozenset({"X"}),
        self_labels=frozenset({"P_OUT"}),
    ),
)

# ---------------------------------------------------------------------------------------- objects


@dataclass(frozen=True)
class Thing:
    """An object a path can name; `classes` are the classes it belongs to (a sheet's, a
    student's, or the class itself), `teacher` the login of a sheet's assigned teacher."""

    label: str
    classes: frozenset[str] = frozenset()
    teacher: str | None = None
    own: bool = False
    """Created by the suite: the allowed side of a destructive row may be probed on it."""
    absent: bool = False
    """Does not exist (a random id): every signed-in caller gets 403/404."""
    school: str = "A"
    """The school the object belongs to; "" for none (a subject code, an import kind)."""


THINGS: dict[str, Thing] = {
    t.label: t
    for t in (
        Thing("NONE", school=""),
        Thing("S_TOAN", frozenset({"10A1"}), teacher="gv.toan"),
        Thing("S_VAN", frozenset({"10A1"}), teacher="gv.van"),
        Thing("K_10A1", frozenset({"10A1"})),
        Thing("K_11TC", frozenset({"11 Toán chuyên"})),
        Thing("A", frozenset({"10A1"})),
        Thing("B", frozenset({"11 Toán chuyên"})),
        Thing("C", frozenset({"10A2"})),
        Thing("X", frozenset({"@class"}), own=True),
        Thing("R_A", frozenset({"10A1"})),
        Thing("R_B", frozenset({"11 Toán chuyên"})),
        Thing("P_DEMO"),
        Thing("P_OUT", own=True),
        Thing("LINK_DEMO"),
        Thing("T_TOAN"),
        Thing("T_OUT", own=True),
        Thing("ACC_TOAN"),
        Thing("ACC_PARENT"),
        Thing("U_TOAN"),
        Thing("Y_CUR"),
        Thing("D_TOAN"),
        Thing("AS_TOAN"),
        Thing("SUBJ_TOAN", school=""),
        Thing("KIND_STUDENTS", school=""),
        Thing("ABSENT", absent=True, school=""),
    )
}

# ----------------------------------------------------------------------------------------- grants

STAFF = frozenset(
    {"principal", "vice_principal", "subject_teacher", "homeroom_teacher", "office_admin", "system_admin"}
)
BOARD = frozenset({"principal", "vice_principal"})
SIGNERS = frozenset({"subject_teacher", "homeroom_teacher", "vice_principal", "principal"})
ADMINS = frozenset({"office_admin", "system_admin"})
OVERSEERS = BOARD | ADMINS
FAMILY = frozenset({"parent", "student"})
PROVINCE = frozenset({"province_admin", "province_officer"})

Grant = Callable[[Caller, Thing], bool]


def _roles(roles: frozenset[str]) -> Grant:
    return lambda caller, _thing: bool(caller.roles & roles)


ROLE_GRANTS = frozenset(
    {
        "anyone",
        "signed_in",
        "staff",
        "signer",
        "board",
        "principal",
        "vice_principal",
        "admin",
        "office_admin",
        "system_admin",
        "overseer",
        "family",
        "province",
        "province_admin",
        "of_a_school",
    }
)

GRANTS: dict[str, Grant] = {
    "anyone": lambda _c, _t: True,
    "signed_in": lambda caller, _t: caller.login is not None,
    "staff": _roles(STAFF),
    "signer": _roles(SIGNERS),
    "board": _roles(BOARD),
    "principal": _roles(frozenset({"principal"})),
    "vice_principal": _roles(frozenset({"vice_principal"})),
    "admin": _roles(ADMINS),
    "office_admin": _roles(frozenset({"office_admin"})),
    "system_admin": _roles(frozenset({"system_admin"})),
    "overseer": _roles(OVERSEERS),
    "family": _roles(FAMILY),
    "province": _roles(PROVINCE),
    "province_admin": _roles(frozenset({"province_admin"})),
    "of_a_school": lambda caller, _t: caller.login is not None and caller.school != "P",
    # Relations between the caller and the object in the path:
    "sheet_teacher": lambda caller, thing: thing.teacher is not None and thing.teacher == caller.login,
    "class_teacher": lambda caller, thing: bool(thing.classes & (caller.teaches | caller.leads)),
    "homeroom": lambda caller, thing: bool(thing.classes & caller.leads),
    "parent_of": lambda caller, thing: thing.label in caller.children,
    "self": lambda caller, thing: thing.label in caller.self_labels,
}

# ------------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Rule:
    service: str
    method: str
    path: str
    may: tuple[str, ...]
    objects: tuple[str, ...] = ("NONE",)
    sees: tuple[str, ...] | None = None
    body: Any = None
    """JSON body; a str is sent as text, bytes as they are. "{name}" in a str value is filled
    from the object (e.g. "{class_name}")."""
    content_type: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    destructive: bool = False
    probe: bool = True
    """False: not probed by the matrix (the reason is in `note`; another test covers it)."""
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.service, self.method, template(self.path))

    def allows(self, caller: Caller, thing: Thing) -> bool:
        if "anyone" not in self.may and not caller.reaches(thing):
            return False  # another school's object: never, whatever the roles
        return any(GRANTS[word](caller, thing) for word in self.may)

    def shows(self, caller: Caller, thing: Thing) -> bool:
        """A refusal may be 403 unless the row decides by the object (a relation grant) and the
        caller may not know the object: then only 404 keeps its existence undisclosed."""
        if self.sees is None or all(word in ROLE_GRANTS for word in self.may):
            return True
        return any(GRANTS[word](caller, thing) for word in self.sees)


def template(path: str) -> str:
    """/sheets/{sheet_id}/scores → /sheets/{}/scores: rows and OpenAPI compare by shape."""
    import re

    return re.sub(r"\{[^}]+\}", "{}", path)


REASON = "Kiểm tra quyền truy cập"
STALE = 999_999
"""An out-of-date version: an allowed caller's write is refused (409) and changes nothing."""
STUDENT_READ = ("self", "parent_of", "overseer", "class_teacher")
SHEET_SEES = ("sheet_teacher", "overseer")
CLASS_READ = ("overseer", "class_teacher")
CLASS_OBJECTS = ("K_10A1", "K_11TC")
STUDENTS = ("A", "B", "X")
RECORDS = ("R_A", "R_B")
SHEETS = ("S_TOAN", "S_VAN")
NEW_STUDENT = {
    "full_name": "Học Sinh Kiểm Tra",
    "date_of_birth": "2010-01-01",
    "birthplace": "Thái Bình",
    "gender": "female",
    "national_id": "034100999999",
}
MINUTES = {
    "expected_version": STALE,
    "minutes_number": "01/BB",
    "minutes_date": "2026-10-01",
    "reason": REASON,
}
SHEET_MINUTES = {
    **MINUTES,
    "present": ["Người Kiểm Tra – Hiệu trưởng"],
    "cells": [{"student_id": "00000000-0000-4000-8000-000000000001", "column": "final"}],
}

IDENTITY: tuple[Rule, ...] = (
    Rule("identity", "GET", "/healthz", ("anyone",)),
    Rule("identity", "GET", "/readyz", ("anyone",)),
    Rule(
        "identity",
        "POST",
        "/auth/token",
        ("anyone",),
        probe=False,
        note="test_tokens.py, lockout in test_holes.py",
    ),
    Rule(
        "identity",
        "POST",
        "/auth/refresh",
        ("anyone",),
        probe=False,
        note="test_tokens.py (reuse revokes the family)",
    ),
    Rule(
        "identity",
        "POST",
        "/auth/logout",
        ("anyone",),
        probe=False,
        note="needs a refresh token: test_tokens.py",
    ),
    Rule(
        "identity",
        "POST",
        "/auth/password",
        ("signed_in",),
        body={"current_password": "x", "new_password": "y"},
        destructive=True,
        note="own password only; the restricted token's own step",
    ),
    Rule("identity", "POST", "/auth/totp/setup", ("signed_in",), destructive=True, note="own account only"),
    Rule("identity", "POST", "/auth/totp/confirm", ("signed_in",), body={"code": "000000"}, destructive=True),
    Rule("identity", "GET", "/.well-known/jwks.json", ("anyone",)),
    Rule(
        "identity", "POST", "/oauth/clients", ("admin",), body={"name": "Hệ thống thử", "scopes": ["verify"]}
    ),
    Rule("identity", "GET", "/oauth/clients", ("admin",)),
    Rule("identity", "POST", "/oauth/clients/{client_uuid}/revoke", ("admin",), ("ABSENT",)),
    Rule(
        "identity",
        "POST",
        "/v1/oauth/token",
        ("anyone",),
        probe=False,
        note="client credentials, not a person's token: services/identity/tests/test_clients.py",
    ),
    Rule("identity", "POST", "/oauth/token", ("anyone",), probe=False, note="as /v1/oauth/token"),
    Rule(
        "identity",
        "POST",
        "/oauth/introspect",
        ("anyone",),
        probe=False,
        note="the token is its own authorisation: test_clients.py",
    ),
    Rule("identity", "GET", "/me", ("signed_in",)),
    Rule("identity", "GET", "/schools", ("province",), note="issue 14: counts per school, no one's data"),
    Rule(
        "identity",
        "POST",
        "/schools",
        ("province_admin",),
        body={
            "id": "thpt-kiem-tra-quyen",
            "name": "Trường THPT Kiểm Tra Quyền",
            "authority": "Sở GD&ĐT Hưng Yên",
            "province": "Hưng Yên",
            "admin": {"full_name": "Người Kiểm Tra", "username": "quantri.kiemtraquyen"},
        },
        destructive=True,
        note="creates a school: refusals probed here; the province's side in test_schools.py",
    ),
    Rule("identity", "GET", "/school", ("of_a_school",), note="the province's people have no school: 404"),
    Rule(
        "identity",
        "PUT",
        "/school",
        ("admin",),
        body={"name": "Trường THPT Chuyên Thái Bình"},
        destructive=True,
    ),
    Rule("identity", "GET", "/school-years", ("signed_in",)),
    Rule(
        "identity",
        "POST",
        "/school-years",
        ("admin",),
        destructive=True,
        body={
            "name": "2030-2031",
            "semester1_start": "2030-09-05",
            "semester1_end": "2031-01-16",
            "semester2_start": "2031-01-18",
            "semester2_end": "2031-05-31",
        },
    ),
    Rule("identity", "POST", "/school-years/{year_id}/current", ("admin",), ("Y_CUR",), destructive=True),
    Rule("identity", "PATCH", "/school-years/{year_id}", ("admin",), ("Y_CUR",), body={}, destructive=True),
    Rule("identity", "DELETE", "/school-years/{year_id}", ("admin",), ("Y_CUR",), destructive=True),
    Rule("identity", "GET", "/departments", ("staff",)),
    Rule("identity", "POST", "/departments", ("admin",), body={"name": "Tổ Kiểm tra"}, destructive=True),
    Rule(
        "identity",
        "PATCH",
        "/departments/{department_id}",
        ("admin",),
        ("D_TOAN",),
        body={"name": "Tổ Toán"},
        destructive=True,
    ),
    Rule("identity", "DELETE", "/departments/{department_id}", ("admin",), ("D_TOAN",), destructive=True),
    Rule("identity", "GET", "/classes", ("staff",)),
    Rule(
        "identity",
        "POST",
        "/classes",
        ("admin",),
        body={"name": "12Z9", "grade_level": 12, "school_year": "2026-2027"},
        destructive=True,
    ),
    Rule(
        "identity",
        "PATCH",
        "/classes/{class_id}",
        ("admin",),
        CLASS_OBJECTS,
        sees=CLASS_READ,
        body={"name": "{class_name}"},
        destructive=True,
    ),
    Rule("identity", "DELETE", "/classes/{class_id}", ("admin",), CLASS_OBJECTS, destructive=True),
    Rule("identity", "GET", "/classes/{class_id}", CLASS_READ, CLASS_OBJECTS, sees=CLASS_READ),
    Rule("identity", "GET", "/classes/{class_id}/students", CLASS_READ, CLASS_OBJECTS, sees=CLASS_READ),
    Rule("identity", "POST", "/students", ("admin",), body=NEW_STUDENT, destructive=True),
    Rule("identity", "GET", "/students", ("signed_in",), note="each caller sees the students they may read"),
    Rule("identity", "POST", "/students/search", ("signed_in",), body={"q": "nguyen"}),
    Rule("identity", "GET", "/students/{student_id}", STUDENT_READ, STUDENTS, sees=STUDENT_READ),
    Rule(
        "identity",
        "PATCH",
        "/students/{student_id}",
        ("admin", "homeroom"),
        STUDENTS,
        sees=STUDENT_READ,
        body={"reason": REASON},
        destructive=True,
        note="Đ6: the office, or the homeroom teacher",
    ),
    Rule(
        "identity",
        "DELETE",
        "/students/{student_id}",
        ("admin",),
        STUDENTS,
        sees=STUDENT_READ,
        destructive=True,
        note="X has a parent: the admin's delete is a 409, so X stays",
    ),
    Rule(
        "identity",
        "GET",
        "/students/{student_id}/versions",
        ("overseer", "class_teacher"),
        STUDENTS,
        sees=STUDENT_READ,
    ),
    Rule("identity", "GET", "/students/{student_id}/enrolments", STUDENT_READ, STUDENTS, sees=STUDENT_READ),
    Rule(
        "identity",
        "POST",
        "/students/{student_id}/enrolments",
        ("admin",),
        ("A", "B"),
        body={"class_id": "{class_id}", "enrolled_on": "2026-09-05"},
        destructive=True,
    ),
    Rule(
        "identity",
        "POST",
        "/students/{student_id}/leave",
        ("admin",),
        ("A", "B"),
        body={"left_on": "2026-10-01", "reason": "other"},
        destructive=True,
    ),
    Rule(
        "identity", "POST", "/parents", ("admin",), body={"full_name": "Phụ Huynh Kiểm Tra"}, destructive=True
    ),
    Rule("identity", "GET", "/parents", ("overseer",)),
    Rule("identity", "POST", "/parents/search", ("overseer",), body={"q": "nguyen"}),
    Rule(
        "identity",
        "GET",
        "/parents/{parent_id}",
        ("self", "overseer"),
        ("P_DEMO", "P_OUT"),
        sees=("self", "overseer"),
    ),
    Rule(
        "identity",
        "PATCH",
        "/parents/{parent_id}",
        ("admin",),
        ("P_DEMO", "P_OUT"),
        body={"full_name": "{full_name}"},
        destructive=True,
    ),
    Rule(
        "identity",
        "POST",
        "/parents/{parent_id}/children",
        ("admin",),
        ("P_DEMO",),
        body={"student_id": "{student_id}", "relationship": "guardian"},
        destructive=True,
    ),
    Rule(
        "identity",
        "DELETE",
        "/parents/{parent_id}/children/{student_id}",
        ("admin",),
        ("LINK_DEMO",),
        destructive=True,
    ),
    Rule(
        "identity",
        "GET",
        "/students/{student_id}/parents",
        ("overseer", "class_teacher"),
        STUDENTS,
        sees=STUDENT_READ,
    ),
    Rule(
        "identity",
        "POST",
        "/staff",
        ("admin",),
        body={"username": "gv.kiemtra", "full_name": "Giáo Viên Kiểm Tra", "roles": ["subject_teacher"]},
        destructive=True,
    ),
    Rule("identity", "GET", "/staff", ("staff",)),
    Rule("identity", "POST", "/staff/search", ("staff",), body={"q": "nguyen"}),
    Rule("identity", "GET", "/staff/{staff_id}", ("staff",), ("T_TOAN",)),
    Rule(
        "identity",
        "PATCH",
        "/staff/{staff_id}",
        ("admin",),
        ("T_TOAN", "T_OUT"),
        body={"full_name": "{full_name}"},
        destructive=True,
    ),
    Rule(
        "identity",
        "POST",
        "/assignments",
        ("admin",),
        ("K_11TC",),
        destructive=True,
        body={
            "kind": "subject_teacher",
            "teacher_id": "{teacher_id}",
            "class_id": "{class_id}",
            "subject_code": "TOAN",
        },
    ),
    Rule("identity", "GET", "/assignments", ("staff",)),
    Rule("identity", "DELETE", "/assignments/{assignment_id}", ("admin",), ("AS_TOAN",), destructive=True),
    Rule(
        "identity",
        "POST",
        "/authz/check",
        ("signed_in",),
        ("A",),
        body={"action": "student.read", "object_id": "{student_id}"},
        note="answers for the caller",
    ),
    Rule("identity", "GET", "/authz/scope", ("signed_in",), note="the caller's own scope"),
    Rule(
        "identity",
        "GET",
        "/accounts/{account_id}",
        ("self", "admin"),
        ("ACC_TOAN", "ACC_PARENT"),
        sees=("self", "admin"),
    ),
    Rule(
        "identity",
        "POST",
        "/accounts/{account_id}/disable",
        ("admin",),
        ("ACC_TOAN",),
        body={"reason": REASON},
        destructive=True,
    ),
    Rule("identity", "POST", "/accounts/{account_id}/enable", ("admin",), ("ACC_TOAN",), destructive=True),
    Rule(
        "identity",
        "POST",
        "/accounts/{account_id}/password",
        ("admin",),
        ("ACC_TOAN",),
        destructive=True,
        note="a signer's: needs a second board member's approval (hole 2)",
    ),
    Rule(
        "identity", "POST", "/accounts/{account_id}/totp/reset", ("admin",), ("ACC_TOAN",), destructive=True
    ),
    Rule(
        "identity",
        "POST",
        "/classes/{class_id}/sign-in-slips",
        ("admin",),
        ("K_10A1",),
        destructive=True,
        note="new passwords for a whole class",
    ),
    Rule(
        "identity",
        "POST",
        "/accounts/{account_id}/sign-in-slip",
        ("admin",),
        ("ACC_PARENT",),
        destructive=True,
    ),
    Rule("identity", "GET", "/audit", ("overseer",)),
    Rule("identity", "GET", "/audit/verify", ("overseer",)),
    Rule("identity", "GET", "/imports/{kind}/template", ("admin",), ("KIND_STUDENTS",)),
    Rule(
        "identity",
        "POST",
        "/imports/{kind}",
        ("admin",),
        ("KIND_STUDENTS",),
        body="@template",
        query={"dry_run": "true"},
        destructive=True,
        note="the role is checked before the file is read (hole 6)",
    ),
    Rule("identity", "GET", "/exports/{kind}", ("overseer",), ("KIND_STUDENTS",)),
    # Factor resets (hole 2): requested by the office or the board, approved by another board member.
    Rule(
        "identity",
        "POST",
        "/accounts/{user_id}/factor-resets",
        ("office_admin", "system_admin", "principal", "vice_principal"),
        ("ACC_TOAN",),
        body={"factor": "password", "reason": REASON},
        destructive=True,
    ),
    Rule("identity", "GET", "/factor-resets", ("overseer",)),
    Rule(
        "identity",
        "POST",
        "/factor-resets/{reset_id}/approve",
        ("board",),
        ("ABSENT",),
        destructive=True,
        note="never the requester or the account's owner",
    ),
    Rule(
        "identity",
        "POST",
        "/factor-resets/{reset_id}/reject",
        ("board",),
        ("ABSENT",),
        body={"reason": REASON},
        destructive=True,
    ),
    # Change requests on personal data (Đ6.1): the homeroom teacher asks, the office decides.
    Rule(
        "identity",
        "POST",
        "/students/{student_id}/change-requests",
        ("homeroom",),
        STUDENTS,
        sees=STUDENT_READ,
        body={"changes": {"shoe_size": "38"}, "note": REASON},
        note="an allowed caller gets 422 for the unknown field, so nothing is made",
    ),
    Rule(
        "identity", "GET", "/change-requests", ("staff",), note="the office and board all; a teacher her own"
    ),
    Rule(
        "identity", "POST", "/change-requests/{request_id}/apply", ("admin",), ("ABSENT",), destructive=True
    ),
    Rule(
        "identity",
        "POST",
        "/change-requests/{request_id}/reject",
        ("admin",),
        ("ABSENT",),
        body={"reason": REASON},
        destructive=True,
    ),
    Rule(
        "identity",
        "POST",
        "/me/security-notices/{reset_id}/ack",
        ("signed_in",),
        ("ABSENT",),
        note="one's own notices only",
    ),
)

GRADES: tuple[Rule, ...] = (
    Rule("grades", "GET", "/province/progress", ("province",), note="issue 14: counts per school"),
    Rule("grades", "GET", "/healthz", ("anyone",)),
    Rule("grades", "GET", "/readyz", ("anyone",)),
    Rule(
        "grades",
        "GET",
        "/sheets",
        ("signed_in",),
        note="a teacher's own sheets; the board's and office's all",
    ),
    Rule(
        "grades",
        "GET",
        "/sheets/ready-to-sign",
        ("signed_in",),
        note="the caller's own unsigned sheets only (anyone else's are never listed)",
    ),
    Rule(
        "grades",
        "POST",
        "/sheets/sign",
        ("sheet_teacher",),
        SHEETS,
        sees=SHEET_SEES,
        body={
            "sheets": [{"sheet_id": "{sheet_id}", "expected_version": STALE}],
            "activation_id": "00000000-0000-4000-8000-000000000000",
        },
        note="every listed sheet must be the caller's own: stale version here, the owner gets 409",
    ),
    Rule(
        "grades",
        "GET",
        "/sheets/batches/{batch_id}",
        ("signed_in",),
        ("ABSENT",),
        note="its teacher's sheets (the board reads all); a batch nobody started is 404",
    ),
    Rule("grades", "GET", "/sheets/{sheet_id}", SHEET_SEES, SHEETS, sees=SHEET_SEES),
    Rule("grades", "GET", "/sheets/{sheet_id}/scores", SHEET_SEES, SHEETS, sees=SHEET_SEES),
    Rule(
        "grades",
        "PUT",
        "/sheets/{sheet_id}/scores",
        ("sheet_teacher",),
        SHEETS,
        sees=SHEET_SEES,
        body={"expected_version": STALE, "rows": []},
        note="stale version: the owner gets 409, nothing changes",
    ),
    Rule("grades", "GET", "/sheets/{sheet_id}/changes", SHEET_SEES, SHEETS, sees=SHEET_SEES),
    Rule(
        "grades",
        "POST",
        "/sheets/{sheet_id}/submit",
        ("sheet_teacher",),
        SHEETS,
        sees=SHEET_SEES,
        body={"expected_version": STALE},
    ),
    Rule(
        "grades",
        "POST",
        "/sheets/{sheet_id}/sign",
        ("sheet_teacher",),
        SHEETS,
        sees=SHEET_SEES,
        body={"expected_version": STALE, "activation_id": "00000000-0000-4000-8000-000000000000"},
    ),
    Rule("grades", "GET", "/sheets/{sheet_id}/xlsx", SHEET_SEES, SHEETS, sees=SHEET_SEES),
    Rule(
        "grades",
        "PUT",
        "/sheets/{sheet_id}/xlsx",
        ("sheet_teacher",),
        SHEETS,
        sees=SHEET_SEES,
        body=b"PK\x03\x04",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        note="not a real workbook: the owner gets 4xx; the role is checked before the file is read",
    ),
    Rule(
        "grades",
        "POST",
        "/sheets/{sheet_id}/corrections",
        ("board",),
        SHEETS,
        sees=SHEET_SEES,
        body=SHEET_MINUTES,
        note="Đ9: under the board's minutes; stale version here",
    ),
    Rule("grades", "GET", "/sheets/{sheet_id}/corrections", SHEET_SEES, SHEETS, sees=SHEET_SEES),
    Rule(
        "grades",
        "POST",
        "/sheets/{sheet_id}/corrections/{correction_id}/minutes/sign",
        ("board",),
        SHEETS,
        sees=SHEET_SEES,
        body={"activation_id": "00000000-0000-4000-8000-000000000002"},
        probe=False,
        note="Đ9.2: only the board member who opened the correction signs its minutes (the test world has "
        "no correction: services/grades/tests/test_records.py and tests/test_oversight.py)",
    ),
    Rule("grades", "GET", "/classes/{class_name}/conduct", CLASS_READ, CLASS_OBJECTS, sees=CLASS_READ),
    Rule(
        "grades",
        "PUT",
        "/classes/{class_name}/conduct",
        ("homeroom",),
        CLASS_OBJECTS,
        sees=CLASS_READ,
        body={"rows": []},
        note="Đ6: the homeroom teacher",
    ),
    Rule(
        "grades", "GET", "/classes/{class_name}/conduct/changes", CLASS_READ, CLASS_OBJECTS, sees=CLASS_READ
    ),
    Rule(
        "grades",
        "PUT",
        "/classes/{class_name}/year-end",
        ("homeroom",),
        CLASS_OBJECTS,
        sees=CLASS_READ,
        body={"rows": []},
    ),
    Rule("grades", "GET", "/classes/{class_name}/plan", CLASS_READ, CLASS_OBJECTS, sees=CLASS_READ),
    Rule(
        "grades",
        "PUT",
        "/classes/{class_name}/plan/{subject_code}",
        ("overseer",),
        CLASS_OBJECTS,
        sees=CLASS_READ,
        body={"periods_per_year": 105},
        destructive=True,
    ),
    Rule("grades", "GET", "/results/classes/{class_name}", CLASS_READ, CLASS_OBJECTS, sees=CLASS_READ),
    Rule("grades", "GET", "/results/classes/{class_name}/xlsx", CLASS_READ, CLASS_OBJECTS, sees=CLASS_READ),
    Rule("grades", "GET", "/results/students/{student_id}", STUDENT_READ, STUDENTS, sees=STUDENT_READ),
    Rule("grades", "GET", "/results/ratings", ("overseer",), note="ratings per class, school-wide"),
    Rule("grades", "GET", "/results/subjects/{subject_code}", ("overseer",), ("SUBJ_TOAN",)),
    Rule("grades", "GET", "/results/subjects/{subject_code}/xlsx", ("overseer",), ("SUBJ_TOAN",)),
    Rule("grades", "GET", "/family/students", ("family",)),
    Rule(
        "grades",
        "GET",
        "/family/students/{student_id}/results",
        ("self", "parent_of"),
        STUDENTS,
        note="Đ9: signed results of one's child or oneself; staff read /results instead",
    ),
    Rule("grades", "GET", "/records", ("overseer",)),
    Rule("grades", "GET", "/audit", ("overseer",)),
    Rule("grades", "GET", "/audit/verify", ("overseer",)),
    Rule("grades", "GET", "/records/homeroom-classes", ("of_a_school",), note="the caller's own, maybe none"),
    Rule("grades", "GET", "/records/classes/{class_name}", CLASS_READ, CLASS_OBJECTS, sees=CLASS_READ),
    Rule("grades", "GET", "/records/batches/{batch_id}", ("overseer",), ("ABSENT",)),
    Rule("grades", "GET", "/records/{record_id}", CLASS_READ, RECORDS, sees=CLASS_READ),
    Rule(
        "grades",
        "PUT",
        "/records/{record_id}/remarks",
        ("homeroom",),
        RECORDS,
        sees=CLASS_READ,
        body={"expected_version": STALE, "remarks": REASON},
    ),
    Rule(
        "grades",
        "POST",
        "/records/sign",
        ("homeroom",),
        CLASS_OBJECTS,
        body={
            "step": "homeroom",
            "activation_id": "00000000-0000-4000-8000-000000000000",
            "batch_id": "00000000-0000-4000-8000-000000000001",
            "class_names": ["{class_name}"],
        },
        note="step 2 by the class's homeroom teacher; steps 3 and 4 by the vice-principal and principal",
    ),
    Rule(
        "grades",
        "POST",
        "/records/{record_id}/return",
        ("board",),
        RECORDS,
        sees=CLASS_READ,
        body={"reason": REASON, "expected_version": STALE},
    ),
    Rule(
        "grades",
        "POST",
        "/records/classes/{class_name}/return",
        ("board",),
        CLASS_OBJECTS,
        sees=CLASS_READ,
        body={"reason": REASON},
        destructive=True,
    ),
    Rule(
        "grades",
        "POST",
        "/records/{record_id}/corrections",
        ("board",),
        RECORDS,
        sees=CLASS_READ,
        body=MINUTES,
    ),
    Rule("grades", "GET", "/records/{record_id}/corrections", CLASS_READ, RECORDS, sees=CLASS_READ),
    Rule(
        "grades",
        "POST",
        "/records/{record_id}/revocation",
        ("principal",),
        RECORDS,
        sees=CLASS_READ,
        body=MINUTES,
        note="Đ3/Đ9: only the principal annuls an approved record (issue 13)",
    ),
    Rule("grades", "GET", "/records/{record_id}/revocation", CLASS_READ, RECORDS, sees=CLASS_READ),
    Rule("grades", "GET", "/progress", ("board",), note="Đ4.1: the board follows progress"),
    Rule("grades", "GET", "/progress/items", ("board",), note="missing items and who must act"),
    Rule(
        "grades",
        "POST",
        "/reminders",
        ("board",),
        body={"teacher_id": "00000000-0000-4000-8000-000000000000"},
        note="Nhắc; an unknown teacher has nothing missing (409), so the probe reminds nobody",
    ),
    Rule("grades", "GET", "/reminders", ("board",), note="the school's reminders this year"),
    Rule("grades", "GET", "/reminders/mine", ("signed_in",), note="one's own reminders, maybe none"),
    Rule(
        "grades",
        "POST",
        "/reminders/{reminder_id}/read",
        ("signed_in",),
        ("ABSENT",),
        note="one's own reminders only; anyone else's is 404",
    ),
    Rule(
        "grades",
        "GET",
        "/windows",
        ("staff",),
        note="Đ5: the school's time windows, for every member of staff",
    ),
    Rule(
        "grades",
        "PUT",
        "/windows",
        ("board",),
        body={"school_year": "2026-2027", "windows": []},
        note="Đ5: set by the board; an empty list changes nothing",
    ),
    Rule(
        "grades",
        "GET",
        "/windows/mine",
        ("staff",),
        note="Đ5: one's own deadlines (subjects, homeroom class) with their extensions",
    ),
    Rule("grades", "GET", "/windows/extensions", ("board",)),
    Rule(
        "grades",
        "POST",
        "/windows/extensions",
        ("board",),
        body={
            "school_year": "2026-2027",
            "period": "HK1",
            "step": 1,
            "class_name": "10A1",
            "closes_on": "2026-12-31",
            "reason": REASON,
        },
        note="Đ5: the board extends a window with a reason; no window set here, so the board gets 422",
    ),
    Rule("grades", "GET", "/compliance", ("board",), note="Đ10: compliance per person, step and period"),
    Rule("grades", "GET", "/compliance/xlsx", ("board",)),
    # National export (CSDL ngành, issue 13 §4): school-wide data, the board and the office.
    Rule("grades", "GET", "/national/exports", ("overseer",)),
    Rule(
        "grades",
        "POST",
        "/national/exports",
        ("overseer",),
        body={"since": "last"},
        note="the changes since the school's latest export (409 while there is none)",
    ),
    Rule("grades", "GET", "/national/exports/{export_id}", ("overseer",), ("ABSENT",)),
    Rule("grades", "GET", "/national/exports/{export_id}/xml", ("overseer",), ("ABSENT",)),
    Rule("grades", "GET", "/national/exports/{export_id}/json", ("overseer",), ("ABSENT",)),
    # Review samples (Đ4.2) and the homeroom teacher's check of personal data (Đ6.1).
    Rule(
        "grades",
        "GET",
        "/review/overview",
        ("board",),
        note="Đ4.2/Đ6.1: per class, the review sample's state and the homeroom check",
    ),
    Rule("grades", "GET", "/review/settings", ("overseer",)),
    Rule(
        "grades",
        "PUT",
        "/review/settings",
        ("principal",),
        body={"share_percent": 10, "minimum": 3},
        destructive=True,
    ),
    Rule(
        "grades",
        "POST",
        "/review/classes/{class_name}/samples",
        ("board",),
        CLASS_OBJECTS,
        sees=CLASS_READ,
        destructive=True,
    ),
    Rule("grades", "GET", "/review/classes/{class_name}/samples", CLASS_READ, CLASS_OBJECTS, sees=CLASS_READ),
    Rule(
        "grades",
        "GET",
        "/review/samples/{sample_id}/redraw",
        ("overseer",),
        ("ABSENT",),
        note="and the class's teachers",
    ),
    Rule(
        "grades",
        "POST",
        "/review/samples/{sample_id}/records/{record_id}/verdict",
        ("board",),
        ("ABSENT",),
        body={"verdict": "correct"},
    ),
    Rule(
        "grades",
        "GET",
        "/review/classes/{class_name}/personal-data",
        CLASS_READ,
        CLASS_OBJECTS,
        sees=CLASS_READ,
    ),
    Rule(
        "grades",
        "POST",
        "/review/classes/{class_name}/personal-data/verify-all",
        ("homeroom",),
        CLASS_OBJECTS,
        sees=CLASS_READ,
        body={"student_ids": ["00000000-0000-4000-8000-000000000000"], "confirmed": True},
        note="Đ6.1 tick-all by the homeroom teacher; a student not in the class is 422, nothing written",
    ),
    Rule(
        "grades",
        "PUT",
        "/review/students/{student_id}/personal-data",
        ("homeroom",),
        STUDENTS,
        sees=STUDENT_READ,
        body={"state": "discrepancy", "note": ""},
        note="an allowed caller gets 422 (a discrepancy needs a note), so nothing is written",
    ),
)

SIGNING: tuple[Rule, ...] = (
    Rule("signing", "GET", "/healthz", ("anyone",)),
    Rule("signing", "GET", "/readyz", ("anyone",)),
    Rule(
        "signing",
        "GET",
        "/documents/students/{student_id}/records",
        ("overseer", "self", "parent_of"),
        STUDENTS,
        sees=("overseer", "self", "parent_of"),
        note="families: sealed records only",
    ),
    Rule(
        "signing",
        "GET",
        "/documents/{document_id}",
        ("overseer",),
        ("ABSENT",),
        note="and its signers, its family",
    ),
    Rule("signing", "GET", "/documents/{document_id}/pdf", ("overseer",), ("ABSENT",)),
    Rule("signing", "GET", "/signing-pin", ("signed_in",), note="one's own PIN's status"),
    Rule(
        "signing",
        "PUT",
        "/signing-pin",
        ("signer",),
        body={"pin": "135790"},
        destructive=True,
        note="one's own PIN, only for someone who signs; demo PINs are never changed here",
    ),
    Rule(
        "signing",
        "POST",
        "/signing-pin/{user_id}/reset",
        ("system_admin",),
        ("U_TOAN",),
        body={"reason": REASON},
        destructive=True,
        probe=False,
        note="hole 2: 409 for everyone; a PIN reset is a factor reset in identity, approved by a second "
        "board member (test_holes.py)",
    ),
    Rule(
        "signing",
        "POST",
        "/activations",
        ("signer",),
        body={"pin": "000000", "subject_ids": []},
        destructive=True,
        note="a wrong PIN counts towards the owner's lock-out",
    ),
    Rule("signing", "GET", "/batches/{batch_id}", ("overseer",), ("ABSENT",), note="and whoever started it"),
    Rule(
        "signing",
        "POST",
        "/certificates/requests",
        ("admin",),
        ("T_OUT",),
        body={"user_id": "{user_id}", "role": "subject_teacher", "common_name": "Giáo Viên Kiểm Tra"},
        destructive=True,
        note="hole 9: only the office, for staff who sign",
    ),
    Rule(
        "signing",
        "POST",
        "/certificates/import",
        ("system_admin",),
        ("T_OUT",),
        body={
            "user_id": "{user_id}",
            "role": "subject_teacher",
            "chain_pem": "-----BEGIN CERTIFICATE-----\n" + "A" * 120,
        },
        note="not a certificate: the admin gets 422",
    ),
    Rule(
        "signing", "GET", "/certificates", ("signed_in",), note="one's own; the system admin's the school's"
    ),
    Rule(
        "signing",
        "POST",
        "/certificates/{certificate_id}/revoke",
        ("system_admin",),
        ("ABSENT",),
        body={"reason": REASON},
    ),
    Rule(
        "signing",
        "POST",
        "/verify",
        ("anyone",),
        body=b"%PDF-1.7\n",
        content_type="application/pdf",
        note="public, rate-limited per client",
    ),
    Rule("signing", "GET", "/verify/{code}", ("anyone",), ("ABSENT",)),
    Rule(
        "signing",
        "POST",
        "/verify/batch",
        ("anyone",),
        body={"codes": ["ZZZZZZZZZZ"]},
        note="public, rate-limited: one answer per code or file (issue 13)",
    ),
    Rule(
        "signing", "GET", "/status/{school_id}/list.json", ("anyone",), ("ABSENT",), note="no personal data"
    ),
    Rule(
        "signing", "GET", "/status/{school_id}/list.p7m", ("anyone",), ("ABSENT",), note="signed by the seal"
    ),
    Rule(
        "signing",
        "POST",
        "/v1/verify/batch",
        ("anyone",),
        body={"codes": ["ZZZZZZZZZZ"]},
        note="as /verify/batch",
    ),
    Rule(
        "signing",
        "POST",
        "/v1/verify",
        ("anyone",),
        body=b"%PDF-1.7\n",
        content_type="application/pdf",
        note="as /verify",
    ),
    Rule("signing", "GET", "/v1/verify/{code}", ("anyone",), ("ABSENT",)),
    Rule(
        "signing",
        "GET",
        "/v1/status/{sha256}",
        ("anyone",),
        probe=False,
        note="an outside system's token with scope verify only, never a person's: test_machine_access.py",
    ),
    Rule("signing", "GET", "/dev-ca/root.pem", ("anyone",)),
    Rule("signing", "GET", "/dev-ca/crl", ("anyone",)),
    Rule(
        "signing",
        "POST",
        "/exchange/packages",
        ("admin",),
        body={"student_ids": ["6f1d7c1e-8a55-4b0b-9f7e-5d3c2a1b0e99"], "reason": "transferred"},
        destructive=True,
        note="issue 13: only the office seals a transfer or graduation package (and the student leaves)",
    ),
    Rule(
        "signing",
        "POST",
        "/exchange/imports",
        ("admin",),
        body=b"%PDF-1.7\n",
        content_type="application/pdf",
        note="not a package: the office gets 422 with each file's reason",
    ),
    Rule("signing", "GET", "/exchange/packages/{package_id}", ("overseer",), ("ABSENT",)),
    Rule("signing", "GET", "/exchange/packages/{package_id}/pdf", ("overseer",), ("ABSENT",)),
    Rule("signing", "GET", "/exchange/packages/{package_id}/receipt", ("overseer",), ("ABSENT",)),
    Rule("signing", "GET", "/exchange/packages/{package_id}/files/{name}", ("overseer",), ("ABSENT",)),
    Rule("signing", "POST", "/exchange/packages/{package_id}/verify", ("overseer",), ("ABSENT",)),
    Rule(
        "signing",
        "POST",
        "/exchange/packages/{package_id}/receipt",
        ("admin",),
        ("ABSENT",),
        body=b"%PDF-1.7\n",
        content_type="application/pdf",
    ),
    Rule("signing", "GET", "/exchange/students/{student_id}/packages", ("overseer",), ("A",)),
    Rule(
        "signing",
        "POST",
        "/dev-ca/tsa",
        ("anyone",),
        body=b"\x30\x00",
        content_type="application/timestamp-query",
    ),
)

POLICY: tuple[Rule, ...] = IDENTITY + GRADES + SIGNING

# ---------------------------------------------------------------------------------- portal pages


@dataclass(frozen=True)
class Page:
    """A portal page (GET): who may open it. Anyone else gets 403; a visitor who is not signed in
    is sent to /login. The portal calls the services with the user's own token, so a page open
    to everyone signed in still shows only what the services let that user read."""

    path: str
    roles: frozenset[str] | None
    """None: every signed-in user of a school (the province's people only where `province`)."""
    public: bool = False
    note: str = ""
    province: bool = False
    """A page for every signed-in user that the province's people open too (their own account's)."""


SIGNERS = frozenset({"subject_teacher", "homeroom_teacher", "vice_principal", "principal"})

PORTAL: tuple[Page, ...] = (
    Page("/login", None, public=True),
    Page("/verify", None, public=True),
    Page("/", None, province=True, note="the province lands on /province"),
    Page("/password", None, province=True),
    Page("/province", PROVINCE, note="issue 14: each school's progress, counts only"),
    Page("/province/schools", frozenset({"province_admin"}), note="issue 14: create a school"),
    Page("/sheets", None, note="menu: signers; others see no sheet (grades lists only their own)"),
    Page("/sheets/sign-all", None, note="linked from /sheets for a teacher; lists only one's own sheets"),
    Page("/signing-pin", None, note="menu: signers; signing refuses anyone else a PIN or activation (403)"),
    Page("/records/homeroom", None, note="menu: homeroom teachers; others see no class"),
    Page("/records/review", BOARD | ADMINS, note="menu: vice-principal"),
    Page("/records/approve", BOARD | ADMINS, note="menu: principal"),
    Page("/classes", None, note="menu: signers and admins; others see no class"),
    Page("/statistics", OVERSEERS, note="menu: the board"),
    Page("/statistics/ratings", OVERSEERS, note="ratings per class, linked from /statistics"),
    Page("/progress", BOARD, note="menu: the board (Tiến độ), its home page"),
    Page("/reminders", None, note="menu: signers; one's own reminders"),
    Page("/admin/students", ADMINS),
    Page("/change-requests", ADMINS, note="menu: the office (Đ6.1 change requests)"),
    Page("/admin/classes", ADMINS),
    Page("/admin/accounts", ADMINS),
    Page("/admin/import", ADMINS),
    Page("/admin/export", ADMINS),
    Page("/admin/national", ADMINS, note="national export (CSDL ngành): make one, download XML or JSON"),
    Page("/admin/exchange", ADMINS, note="issue 13: transfer and graduation packages"),
    Page("/admin/slips", ADMINS, note="asks before a class's slips (?class_id=&who=); none: back"),
    Page("/admin/audit", frozenset({"principal", "vice_principal", "office_admin", "system_admin"})),
    Page("/admin/signing", frozenset({"system_admin"})),
    Page("/admin/outside-systems", ADMINS, note="menu: the office (OAuth clients of outside systems)"),
    Page("/security", None, province=True, note="menu: staff (their second factor)"),
    Page("/results", FAMILY),
)
