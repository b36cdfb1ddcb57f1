"""The national structure (CSDL ngành), pure: a student's element from their sealed year records,
the whole document, each student's fingerprint (what "changed" means) and the XML form.

One Python shape (the JSON form) is built; the XML is written from it by one rule: a key is an
element in the same order, a list is a container whose items are `ITEMS[key]` elements, a None
is left out. Field names are the sector's lowercase Vietnamese without diacritics; ratings are
T / K / Đ / CĐ; scores a decimal with one digit after the point ("8.5", "9.0").
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from lxml import etree

from hbs_shared.display import SCHOOL_TIME
from hbs_shared.records import YearRecordContent
from hbs_shared.school_facts import SchoolFacts

VERSION = "1.0"
NAMESPACE = "urn:hbs:csdl-nganh:hocba:1"
ROOT = "dulieuhocba"
ITEMS: dict[str, str] = {
    "danhsachhocsinh": "hocsinh",
    "cacnamhoc": "hocbanam",
    "ketquamonhoc": "monhoc",
    "danhsachrutlai": "rutlai",
}
"""A list's container element → the element of each item."""

Kind = Literal["toanbo", "thaydoi"]
"""A full export, or the changes since a given one."""

_STATUS = {"assessed": "danhgia", "exempt": "miengiam", "not_assessed": "khongdanhgia"}
_ONE_DIGIT = Decimal("0.1")


@dataclass(frozen=True)
class SealedYear:
    """One sealed year record of a student: its content as signed and what identifies the PDF."""

    content: YearRecordContent
    grade_level: int | None
    edition: int
    document_id: uuid.UUID
    document_sha256: str


def _value(value: str | None) -> str | None:
    """A subject's result: Đ / CĐ as they are, a score with one digit always ("9" → "9.0")."""
    if value is None or value in ("Đ", "CĐ"):
        return value
    return f"{Decimal(value).quantize(_ONE_DIGIT, rounding=ROUND_HALF_UP):f}"


def year_element(year: SealedYear) -> dict[str, Any]:
    """Học bạ một năm học: the page the principal sealed, as the sector's fields."""
    c = year.content
    return {
        "madinhdanhhocba": str(c.record_id),
        "namhoc": c.school_year,
        "lop": c.class_name,
        "khoi": year.grade_level,
        "lanban": year.edition,
        "matailieu": str(year.document_id),
        "sha256": year.document_sha256,
        "ketquamonhoc": [
            {
                "mamonhoc": s.subject_code,
                "tenmonhoc": s.subject_name,
                "hinhthuc": "nhanxet" if s.assessment == "comment" else "diem",
                "trangthai": _STATUS[s.status],
                "hk1": _value(s.semester1),
                "hk2": _value(s.semester2),
                "canam": _value(s.year),
                "sauthilai": _value(s.after_reexam),
            }
            for s in c.subjects
        ],
        "renluyen": {
            "hk1": c.conduct_semester1,
            "hk2": c.conduct_semester2,
            "canam": c.conduct_year,
            "saurenluyenhe": c.summer_training_result,
        },
        "hoctap": {
            "hk1": c.learning_semester1,
            "hk2": c.learning_semester2,
            "canam": c.learning_year,
            "sauthilai": c.reexam_result,
        },
        "sobuoinghi": c.absent_sessions,
        "lenlop": c.promoted,
        "danhhieu": c.title,
        "nhanxet": c.homeroom_remarks,
        "sochosuachua": c.corrections_count,
    }


def student_element(years: Sequence[SealedYear]) -> dict[str, Any]:
    """Hồ sơ một học sinh: the front page as of the newest sealed year, then every sealed year."""
    ordered = sorted(years, key=lambda y: y.content.school_year)
    p = ordered[-1].content.student
    return {
        "mahocsinh": p.national_id,
        "hoten": p.full_name,
        "ngaysinh": p.date_of_birth.isoformat(),
        "gioitinh": "Nữ" if p.gender == "female" else "Nam",
        "noisinh": p.birthplace,
        "dantoc": p.ethnicity,
        "quoctich": p.nationality,
        "diachi": p.address,
        "hotencha": p.father_name,
        "hotenme": p.mother_name,
        "hotennguoigiamho": p.guardian_name,
        "doituongchinhsach": p.policy_group,
        "cacnamhoc": [year_element(y) for y in ordered],
    }


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def fingerprint(element: Mapping[str, Any]) -> str:
    """SHA-256 of a student's element: equal exactly when nothing the sector receives changed."""
    return hashlib.sha256(canonical(element)).hexdigest()


@dataclass(frozen=True)
class ExportHeader:
    export_id: uuid.UUID
    kind: Kind
    since: uuid.UUID | None
    at: datetime
    by_name: str


def document(
    header: ExportHeader,
    school: SchoolFacts,
    students: Sequence[Mapping[str, Any]],
    withdrawn: Sequence[str],
) -> dict[str, Any]:
    """The whole export (JSON form). `withdrawn`: mã học sinh of students the given export carried
    who have no sealed record now (a record reopened under a correction)."""
    return {
        "phienban": VERSION,
        "thongtinxuat": {
            "maxuat": str(header.export_id),
            "loaixuat": header.kind,
            "tulanxuat": str(header.since) if header.since else None,
            "thoidiemxuat": header.at.astimezone(SCHOOL_TIME).isoformat(timespec="seconds"),
            "nguoixuat": header.by_name,
            "sohocsinh": len(students),
            "sorutlai": len(withdrawn),
        },
        "truong": {
            "matruong": school.school_id,
            "tentruong": school.name,
            "coquanchuquan": school.authority,
            "tinhthanh": school.province,
        },
        "danhsachhocsinh": list(students),
        "danhsachrutlai": [{"mahocsinh": code} for code in withdrawn],
    }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: etree._Element, key: str, value: Any) -> None:
    if value is None:
        return
    child = etree.SubElement(parent, f"{{{NAMESPACE}}}{key}")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _fill(child, k, v)
    elif isinstance(value, list):
        for item in value:
            _fill(child, ITEMS[key], item)
    else:
        child.text = _text(value)


def to_xml(doc: Mapping[str, Any]) -> bytes:
    """The XML form of a document built by `document`, UTF-8 with its declaration."""
    root = etree.Element(f"{{{NAMESPACE}}}{ROOT}", nsmap={None: NAMESPACE})  # type: ignore[dict-item]
    for key, value in doc.items():
        _fill(root, key, value)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def to_json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()
