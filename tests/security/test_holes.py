"""The eleven holes of issue 9, each as a test against the running system, as an outsider would
probe them. Each uses objects the suite creates (its own class, teacher, student and parents),
so no demo person's password, PIN or data changes."""

from __future__ import annotations

import io
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from hbs_devtools.demo import DEMO_PASSWORD
from hbs_devtools.drive import SIGNING_PIN
from hbs_identity.demo import DEMO_YEAR, demo_id
from tests.security.world import (
    HTTP,
    OWN_PASSWORD,
    World,
    check,
    digits,
    first_sign_in,
    initial_password,
    new_parent,
    portal_sign_in,
    sign_in,
)

pytestmark = [pytest.mark.broker, pytest.mark.hsm]
# `db` (run again on PostgreSQL) marks the holes whose rule lives in SQL: restricted accounts,
# factor resets, lockout counters, key requests, what a family may read, seeded accounts.

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_NAME = '=HYPERLINK("http://x","Bấm để xem")'
HOLE_1_PIN = "975312"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def wait_for(what: str, probe: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@dataclass
class Signer:
    """The suite's own teacher: teaches Toán in the suite's class and is its homeroom teacher."""

    id: str
    login: str
    restricted: str
    """The access token identity gave before the first-sign-in password change."""
    token: str
    sheet_id: str


@pytest.fixture(scope="module")
def signer(world: World) -> Signer:
    system = world.system
    class_id = world.values["X"]["class_id"]
    with system.client("identity", sign_in(system, "quantri")) as identity:
        staff = check(
            identity.post(
                "/staff",
                json={
                    "username": f"gv.thu{digits(5)}",
                    "full_name": "Mai Văn Thử",
                    "roles": ["subject_teacher"],
                },
            ),
            201,
        )
        for kind, subject in (("subject_teacher", "TOAN"), ("homeroom_teacher", None)):
            check(
                identity.post(
                    "/assignments",
                    json={
                        "kind": kind,
                        "teacher_id": staff["id"],
                        "class_id": class_id,
                        "subject_code": subject,
                    },
                ),
                201,
            )
    login, password = initial_password(system, staff["id"])
    identity_url = system.stack.url("identity")
    first = check(
        HTTP.post(identity_url + "/auth/token", json={"username": login, "password": password}), 200
    )
    assert first["must_change_password"], first
    token = first_sign_in(system, login, password)
    with system.client("grades", token) as grades:
        sheets = wait_for("the suite's own sheet", lambda: check(grades.get("/sheets"), 200))
    return Signer(staff["id"], login, first["access_token"], token, str(sheets[0]["id"]))


# ------------------------------------------------------------------------------------- hole 1


@pytest.mark.db
def test_hole_1_a_restricted_token_is_refused_by_grades_and_signing(world: World, signer: Signer) -> None:
    """Before the first-sign-in password change the token must not reach the teacher's sheets,
    set a PIN, activate a signature or read results."""
    grades = world.system.stack.url("grades")
    signing = world.system.stack.url("signing")
    headers = bearer(signer.restricted)
    got = {
        "GET /sheets": HTTP.get(grades + "/sheets", headers=headers).status_code,
        "GET /sheets/{own}": HTTP.get(f"{grades}/sheets/{signer.sheet_id}", headers=headers).status_code,
        "PUT /sheets/{own}/scores": HTTP.put(
            f"{grades}/sheets/{signer.sheet_id}/scores",
            json={"expected_version": 1, "rows": []},
            headers=headers,
        ).status_code,
        "GET conduct": HTTP.get(f"{grades}/classes/{world.class_name}/conduct", headers=headers).status_code,
        "GET /signing-pin": HTTP.get(signing + "/signing-pin", headers=headers).status_code,
        "PUT /signing-pin": HTTP.put(
            signing + "/signing-pin", json={"pin": HOLE_1_PIN}, headers=headers
        ).status_code,
        "POST /activations": HTTP.post(
            signing + "/activations",
            json={"pin": HOLE_1_PIN, "subject_ids": [signer.sheet_id]},
            headers=headers,
        ).status_code,
        "GET /certificates": HTTP.get(signing + "/certificates", headers=headers).status_code,
    }
    assert got == dict.fromkeys(got, 401), got


# ------------------------------------------------------------------------------------- hole 2


@pytest.mark.db
def test_hole_2_one_admin_alone_cannot_reset_a_signers_password_or_pin(world: World, signer: Signer) -> None:
    """No single person other than the signer can cause a signature in the signer's name."""
    with world.system.client("signing", signer.token) as signing:
        # Hole 1's probe may have set a PIN with the restricted token (before its fix): change it.
        current = {"current_pin": HOLE_1_PIN} if signing.get("/signing-pin").json()["set"] else {}
        assert signing.put("/signing-pin", json={"pin": SIGNING_PIN, **current}).status_code == 204
    admin = sign_in(world.system, "quantri")
    with world.system.client("identity", admin) as identity:
        password = identity.post(f"/accounts/{signer.id}/password")
    with world.system.client("signing", admin) as signing:
        pin = signing.post(f"/signing-pin/{signer.id}/reset", json={"reason": "Giáo viên quên mã PIN"})
    got = {
        "new initial password": (password.status_code, password.text[:200]),
        "PIN reset": (pin.status_code, pin.text[:200]),
    }
    assert password.status_code == 409, got
    assert "approval" in password.text, got
    assert pin.status_code == 409, got
    assert "approval" in pin.text, got
    # The teacher's own PIN still stands: they can activate with it.
    with world.system.client("signing", signer.token) as signing:
        activated = signing.post("/activations", json={"pin": SIGNING_PIN, "subject_ids": [signer.sheet_id]})
    assert activated.status_code == 201, activated.text


# ------------------------------------------------------------------------------------- hole 3


@pytest.mark.db
def test_hole_3_lockout_counts_per_account_whatever_spelling_found_it(world: World) -> None:
    _, login, password = new_parent(world, name="Tạ Thị Khoá")
    first_sign_in(world.system, login, password)
    assert login.startswith("0"), login
    # From an address of its own: the failures must not lock the other tests' sign-ins.
    with closing(_from("127.0.0.7", world.system.stack.url("identity"))) as identity:
        for _ in range(5):
            wrong = identity.post("/auth/token", json={"username": login, "password": "sai-mat-khau"})
            assert wrong.status_code in (401, 423, 429), wrong.text
        for spelling in ("84" + login[1:], "+84" + login[1:], login[:4] + " " + login[4:7] + " " + login[7:]):
            right = identity.post("/auth/token", json={"username": spelling, "password": OWN_PASSWORD})
            assert "access_token" not in right.text, (spelling, right.status_code)
            assert right.status_code != 200, (
                spelling,
                right.status_code,
            )


# ------------------------------------------------------------------------------------- hole 4


def _from(address: str, base_url: str) -> httpx.Client:
    """A client whose connections leave from another loopback address: another person."""
    return httpx.Client(base_url=base_url, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def test_hole_4_one_clients_verify_calls_do_not_limit_another_client(world: World) -> None:
    portal = world.system.stack.url("portal")
    with closing(_from("127.0.0.8", portal)) as busy, closing(_from("127.0.0.9", portal)) as other:
        busy_statuses: list[int] = []
        while 429 not in busy_statuses and len(busy_statuses) < 40:  # no more calls than needed
            busy_statuses.append(busy.get("/verify/ZZZZZZZZ").status_code)
        assert 429 in busy_statuses, f"the limit never applied to the busy client: {set(busy_statuses)}"
        answer = other.get("/verify/ZZZZZZZZ")
    assert answer.status_code != 429, "one person's /verify calls limited everyone behind the portal"


def test_hole_4_x_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_limit(world: World) -> None:
    signing = world.system.stack.url("signing")
    # An address of its own: test_portal_forwarded's second browser (127.0.0.4) must find it unused.
    with closing(_from("127.0.0.10", signing)) as dodger:
        got = [
            dodger.get("/verify/ZZZZZZZZ", headers={"x-forwarded-for": f"203.0.113.{i}"}).status_code
            for i in range(40)
        ]
    assert 429 in got, f"40 calls with 40 forged X-Forwarded-For were never limited: {set(got)}"


# ------------------------------------------------------------------------------------- hole 5


@pytest.fixture(scope="module")
def formula_student(world: World) -> str:
    with world.system.client("identity", sign_in(world.system, "quantri")) as identity:
        student = check(
            identity.post(
                "/students",
                json={
                    "full_name": FORMULA_NAME,
                    "date_of_birth": "2010-05-06",
                    "birthplace": "+cmd|' /C calc'!A0",
                    "gender": "male",
                    "national_id": "0342" + digits(8),
                    "class_id": world.values["X"]["class_id"],
                    "enrolled_on": "2026-09-05",
                },
            ),
            201,
        )
    return str(student["id"])


def _formulas(content: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    found = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                # A formula cell, or formula-like text Excel would evaluate once the cell is
                # edited: typed text keeps the quote prefix (hbs_shared.cells).
                live = isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS)
                if cell.data_type == "f" or (live and not cell.quotePrefix):
                    found.append(f"{sheet.title}!{cell.coordinate}: {cell.value!r}")
    return found


def _texts(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return " ".join(str(c.value) for s in book.worksheets for row in s.iter_rows() for c in row if c.value)


def test_hole_5_formula_like_names_come_back_as_text_in_every_export(
    world: World, formula_student: str, signer: Signer
) -> None:
    admin = sign_in(world.system, "quantri")
    with world.system.client("identity", admin) as identity:
        export = identity.get("/exports/students")
    assert export.status_code == 200, export.text
    exports = {"identity students export": export.content}
    with world.system.client("grades", admin) as grades:

        def results() -> bytes | None:
            answer = grades.get(f"/results/classes/{world.class_name}")
            if answer.status_code != 200 or not any(
                s["student_id"] == formula_student for s in answer.json().get("students", [])
            ):
                return None
            return grades.get(f"/results/classes/{world.class_name}/xlsx").content

        exports["grades class results"] = wait_for("grades to know the student", results)
        sheet = grades.get(f"/sheets/{signer.sheet_id}/xlsx")
        assert sheet.status_code == 200, sheet.text
        exports["grades score sheet"] = sheet.content
    for what, content in exports.items():
        assert not _formulas(content), f"{what}: {_formulas(content)}"
        assert "HYPERLINK" in _texts(content), f"{what}: the name is missing"


# ------------------------------------------------------------------------------------- hole 6


def _bomb(unzipped_mb: int) -> bytes:
    """A real workbook whose one sheet is replaced by `unzipped_mb` MB of cells (deflated ~100×)."""
    row = "".join(f'<c t="inlineStr"><is><t>{"9" * 40}</t></is></c>' for _ in range(20))
    rows = (f"<row>{row}</row>" for _ in range(unzipped_mb * 1024 * 1024 // (len(row) + 11)))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData>' + "".join(rows) + "</sheetData></worksheet>"
    )
    small = io.BytesIO()
    openpyxl.Workbook().save(small)
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(small) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb,
    ):
        for item in source.infolist():
            bomb.writestr(
                item.filename, sheet if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            )
    return buffer.getvalue()


def test_hole_6_a_zip_bomb_is_refused_quickly_and_the_service_stays_responsive(
    world: World, signer: Signer
) -> None:
    bomb = _bomb(12)
    assert len(bomb) < 1024 * 1024
    grades = world.system.stack.url("grades")
    latencies: list[float] = []
    stop = threading.Event()

    def ping() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                started = time.monotonic()
                client.get(grades + "/healthz")
                latencies.append(time.monotonic() - started)
                time.sleep(0.05)

    pinger = threading.Thread(target=ping)
    pinger.start()
    try:
        time.sleep(0.3)
        started = time.monotonic()
        answer = HTTP.put(
            f"{grades}/sheets/{signer.sheet_id}/xlsx",
            content=bomb,
            headers={**bearer(signer.token), "content-type": XLSX},
            timeout=120,
        )
        took = time.monotonic() - started
        time.sleep(0.3)
    finally:
        stop.set()
        pinger.join()
    assert 400 <= answer.status_code < 500, answer.text
    assert took < 10, f"the upload was answered after {took:.1f} s"
    assert max(latencies) < 1.5, f"/healthz waited {max(latencies):.1f} s while the upload was read"


def test_hole_6_a_students_import_upload_is_refused_before_it_is_read(world: World) -> None:
    student = sign_in(world.system, "0341008001")
    identity = world.system.stack.url("identity")
    for content in (world.template, b"not a spreadsheet at all", _bomb(2)):
        answer = HTTP.post(
            identity + "/imports/students",
            params={"dry_run": "true"},
            content=content,
            headers={**bearer(student), "content-type": XLSX},
        )
        assert answer.status_code == 403, answer.text


# ------------------------------------------------------------------------------------- hole 7


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/students?offset=99999999999999999999", None),
        ("GET", "/students?limit=99999999999999999999", None),
        ("GET", "/parents?offset=99999999999999999999", None),
        ("POST", "/students/search", {"offset": 99999999999999999999}),
        ("POST", "/parents/search", {"offset": 99999999999999999999}),
        ("GET", "/staff?role=" + "r" * 41, None),
        ("POST", "/staff/search", {"role": "r" * 41}),
    ],
)
def test_hole_7_out_of_range_numbers_and_long_strings_are_4xx_not_500(
    world: World, method: str, path: str, body: Any
) -> None:
    with world.system.client("identity", sign_in(world.system, "quantri")) as identity:
        answer = identity.request(method, path, json=body)
    assert 400 <= answer.status_code < 500, f"{method} {path}: {answer.status_code} {answer.text[:200]}"


# ------------------------------------------------------------------------------------- hole 8

HEADERS_PAGES = ("/login", "/verify", "/", "/sheets", "/results", "/password")


@pytest.fixture
def portal(world: World) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world.system.stack.url("portal"), timeout=30) as client:
        yield client


def test_hole_8_every_portal_page_sends_the_hardening_headers(world: World, portal: httpx.Client) -> None:
    responses = {f"{path} (anonymous)": portal.get(path) for path in ("/login", "/verify", "/login/totp")}
    assert portal_sign_in(portal, "gv.toan").status_code == 303
    responses |= {path: portal.get(path) for path in HEADERS_PAGES}
    missing: list[str] = []
    for path, response in responses.items():
        headers = response.headers
        csp = headers.get("content-security-policy", "")
        if not csp:
            missing.append(f"{path}: Content-Security-Policy")
        if "frame-ancestors" not in csp and headers.get("x-frame-options", "").upper() not in (
            "DENY",
            "SAMEORIGIN",
        ):
            missing.append(f"{path}: frame-ancestors / X-Frame-Options")
        if headers.get("x-content-type-options", "").lower() != "nosniff":
            missing.append(f"{path}: X-Content-Type-Options: nosniff")
        if not headers.get("referrer-policy"):
            missing.append(f"{path}: Referrer-Policy")
    assert not missing, "\n".join(missing)


def test_hole_8_the_sign_in_form_needs_its_csrf_token(world: World, portal: httpx.Client) -> None:
    page = portal.get("/login")
    assert 'name="csrf"' in page.text, "the sign-in form has no CSRF token"
    forged = portal.post("/login", data={"username": "gv.toan", "password": DEMO_PASSWORD})
    assert forged.status_code in (400, 403, 422), f"sign-in without the form's token: {forged.status_code}"
    assert portal.get("/sheets").status_code != 200
    with_wrong = portal.post(
        "/login", data={"username": "gv.toan", "password": DEMO_PASSWORD, "csrf": "x" * 43}
    )
    assert with_wrong.status_code in (400, 403, 422)


# ------------------------------------------------------------------------------------- hole 9


@pytest.mark.db
def test_hole_9_families_cannot_make_signing_keys(world: World) -> None:
    x = world.values["X"]
    with world.system.client("identity", sign_in(world.system, "quantri")) as identity:
        issued = check(identity.post(f"/accounts/{x['student_id']}/password"), 200)
    student = first_sign_in(world.system, issued["login"], issued["initial_password"])
    parent = world.token("@parent")
    assert parent is not None
    signing = world.system.stack.url("signing")
    got = {}
    for who, token in (("parent", parent), ("student", student)):
        for role in ("principal", "subject_teacher"):
            answer = HTTP.post(
                signing + "/certificates/requests",
                json={"role": role, "common_name": "Không phải cán bộ"},
                headers=bearer(token),
                timeout=60,
            )
            got[f"{who} as {role}"] = answer.status_code
    assert got == dict.fromkeys(got, 403), got


# ------------------------------------------------------------------------------------ hole 10


@pytest.mark.db
def test_hole_10_unsigned_conduct_is_not_shown_to_families(world: World, signer: Signer) -> None:
    x = world.values["X"]["student_id"]
    with world.system.client("grades", signer.token) as grades:
        wait_for(
            "grades to know the suite's homeroom teacher",
            lambda: world.class_name in check(grades.get("/records/homeroom-classes"), 200),
        )
        saved = grades.put(
            f"/classes/{world.class_name}/conduct",
            json={
                "rows": [
                    {
                        "student_id": x,
                        "term": term,
                        "conduct": "K",
                        "absent_excused": 3,
                        "absent_unexcused": 2,
                    }
                    for term in ("HK1", "HK2")
                ]
            },
        )
        assert saved.status_code == 200, saved.text
        records = check(grades.get(f"/records/classes/{world.class_name}"), 200)
    assert all(r["state"] == "draft" for r in records["records"]), (
        "the class's records are not signed at step 2"
    )
    parent = world.token("@parent")
    assert parent is not None
    with world.system.client("grades", parent) as grades:
        shown = check(grades.get(f"/family/students/{x}/results"), 200)["result"]
    leaked = {
        k: shown[k]
        for k in ("conduct_semester1", "conduct_semester2", "conduct_year", "absent_sessions")
        if shown[k] not in (None, 0)
    }
    assert not leaked, f"a family sees the homeroom teacher's unsigned entries: {leaked}"


# ------------------------------------------------------------------------------------ hole 11


@pytest.mark.db
def test_hole_11_seeded_accounts_other_than_the_readmes_demo_logins_must_change_their_password(
    world: World,
) -> None:
    student_id = str(demo_id("student", f"{DEMO_YEAR}:10A1:2"))
    with world.system.client("identity", sign_in(world.system, "quantri")) as identity:
        student = check(identity.get(f"/students/{student_id}"), 200)
        parents = check(identity.get(f"/students/{student_id}/parents"), 200)
    logins = [student["national_id"], *(p["username"] for p in parents)]
    assert len(logins) >= 2
    identity_url = world.system.stack.url("identity")
    got = {}
    for login in logins:
        answer = check(
            HTTP.post(identity_url + "/auth/token", json={"username": login, "password": DEMO_PASSWORD}), 200
        )
        got[login] = (answer["must_change_password"], answer["refresh_token"] is None)
    assert all(v == (True, True) for v in got.values()), f"full tokens for seeded accounts: {got}"
