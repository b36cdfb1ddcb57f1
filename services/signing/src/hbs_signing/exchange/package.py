"""The package's format (hồ sơ chuyển trường / tốt nghiệp): a PDF/A-3 whose pages list what it
carries, with every file attached as it is stored and a manifest of each file's SHA-256, sealed
with the school's seal (PAdES B-LTA) so any PDF or signature validator checks it offline.

Pure: no database, no token. ``render_package`` lays it out, ``attachments`` reads the files
back, ``Manifest`` is the machine-readable list (``manifest.json``). ``render_receipt`` is the
receiving school's receipt (biên nhận), sealed by that school in the same way.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hbs_shared.display import day_text, school_time_text

if TYPE_CHECKING:
    from fpdf import FPDF

PACKAGE_FORMAT: Final = "urn:hbs:package:1"
RECEIPT_FORMAT: Final = "urn:hbs:package-receipt:1"
MANIFEST_NAME = "manifest.json"
RECEIPT_NAME = "bien-nhan.json"
PACKAGE_FIELD = "Sig_DauTruong_HoSo"
"""The seal's signature field on a package."""
RECEIPT_FIELD = "Sig_DauTruong_BienNhan"
"""The receiving school's seal on its receipt."""
SEAL_BOX: tuple[int, int, int, int] = (305, 40, 555, 106)
"""Where the seal's visible stamp goes on the last page (points from the lower left)."""
RECORD_SIGNATURE_FIELDS = ("Sig1_GVCN", "Sig2_PHT", "Sig3_HT", "Sig4_DauTruong")
"""A sealed year record's signatures in Điều 8's order (then a document timestamp)."""

FileKind = Literal["identity", "record_pdf", "record_json", "record_xml"]
Reason = Literal["transferred", "graduated"]
REASON_LABELS: dict[str, str] = {"transferred": "Chuyển trường", "graduated": "Tốt nghiệp"}
KIND_LABELS: dict[str, str] = {
    "identity": "Thông tin cá nhân (JSON)",
    "record_pdf": "Học bạ năm học (PDF đã ký)",
    "record_json": "Dữ liệu học bạ (JSON)",
    "record_xml": "Dữ liệu học bạ (XML)",
}
MEDIA_TYPES: dict[str, str] = {
    "identity": "application/json",
    "record_pdf": "application/pdf",
    "record_json": "application/json",
    "record_xml": "application/xml",
}
_SHA256 = r"^[0-9a-f]{64}$"
_NAME = r"^[A-Za-z0-9._-]{1,120}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchoolRef(_Model):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    province: str = Field(default="", max_length=100)


class ManifestFile(_Model):
    """One attached file: its name in the package, what it is, and its SHA-256 as stored."""

    name: str = Field(pattern=_NAME)
    kind: FileKind
    media_type: str = Field(max_length=60)
    sha256: str = Field(pattern=_SHA256)
    size: int = Field(ge=0, le=200_000_000)
    school_year: str | None = Field(default=None, pattern=r"^\d{4}-\d{4}$")
    class_name: str | None = Field(default=None, max_length=60)


class ManifestStudent(_Model):
    national_id: str = Field(min_length=1, max_length=32)
    """Mã định danh: how the receiving school creates or links the student."""
    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: str = Field(max_length=10)


class Manifest(_Model):
    """Bản kê của hồ sơ (``manifest.json``): every other file in the package, with its SHA-256."""

    format: Literal["urn:hbs:package:1"] = PACKAGE_FORMAT
    package_id: uuid.UUID
    school: SchoolRef
    reason: Reason
    created_at: AwareDatetime
    student: ManifestStudent
    files: list[ManifestFile] = Field(max_length=400)


class ReceiptFile(_Model):
    name: str = Field(pattern=_NAME)
    sha256: str = Field(pattern=_SHA256)


class Receipt(_Model):
    """Biên nhận hồ sơ: the receiving school confirms what it received and checked."""

    format: Literal["urn:hbs:package-receipt:1"] = RECEIPT_FORMAT
    import_id: uuid.UUID
    package_id: uuid.UUID
    """The package's id in its manifest (the sender's)."""
    package_sha256: str = Field(pattern=_SHA256)
    sender: SchoolRef
    receiver: SchoolRef
    student_national_id: str = Field(min_length=1, max_length=32)
    student_full_name: str = Field(min_length=1, max_length=200)
    records: int = Field(ge=0)
    files: list[ReceiptFile]
    received_at: AwareDatetime


@dataclass(frozen=True)
class PackageFile:
    """A file to attach: the bytes exactly as stored."""

    entry: ManifestFile
    data: bytes


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _new_pdf(title: str, author: str) -> FPDF:
    from fpdf import FPDF

    from hbs_signing.documents.layout import _prepared_fonts

    pdf = FPDF(orientation="P", unit="mm", format="A4", enforce_compliance="PDF/A-3B")
    pdf.set_title(_nfc(title))
    pdf.set_author(_nfc(author))
    pdf.set_creator("HBS")
    pdf.set_lang("vi-VN")
    for style, path in _prepared_fonts().items():
        pdf.add_font("DejaVu", style, path)
    pdf.set_margins(15, 12, 15)
    pdf.set_auto_page_break(auto=False)
    return pdf


_BOTTOM = 240.0  # mm: below it the last page keeps room for the seal's stamp


def _lines(pdf: FPDF, rows: Sequence[tuple[str, str]]) -> None:
    for label, value in rows:
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(55, 6, _nfc(label))
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 6, _nfc(value), new_x="LMARGIN", new_y="NEXT")


def _file_table(pdf: FPDF, rows: Sequence[tuple[str, str, str]]) -> None:
    widths = (62.0, 42.0, 76.0)

    def head() -> None:
        pdf.set_font("DejaVu", "B", 8)
        pdf.set_fill_color(230, 230, 230)
        for width, text in zip(widths, ("Tệp", "Loại", "SHA-256"), strict=True):
            pdf.cell(width, 6, text, border=1, align="C", fill=True)
        pdf.ln(6)

    head()
    for name, kind, digest in rows:
        if pdf.get_y() + 10 > _BOTTOM:
            pdf.add_page()
            head()
        pdf.set_font("DejaVu", "", 7.5)
        y = pdf.get_y()
        pdf.cell(widths[0], 10, _nfc(name), border=1)
        pdf.cell(widths[1], 10, _nfc(kind), border=1)
        pdf.set_font("DejaVu", "", 6.5)
        pdf.multi_cell(widths[2], 5, f"{digest[:32]}\n{digest[32:]}", border=1)
        pdf.set_xy(pdf.l_margin, y + 10)


def _attach(pdf: FPDF, name: str, data: bytes, media_type: str, description: str, when: datetime) -> None:
    # Not compressed: each file's bytes are in the package as they are stored.
    pdf.embed_file(
        bytes=data,
        basename=name,
        modification_date=when,
        mime_type=media_type,
        associated_file_relationship="Source" if media_type == "application/pdf" else "Data",
        desc=_nfc(description),
    )


def render_package(manifest: Manifest, files: Sequence[PackageFile]) -> bytes:
    """The package before its seal: a cover listing the files, each file and the manifest attached."""
    student = manifest.student
    reason = REASON_LABELS[manifest.reason]
    pdf = _new_pdf(f"Hồ sơ học bạ số – {reason} – {student.full_name}", manifest.school.name)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 6, _nfc(manifest.school.name.upper()), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 15)
    title = "HỒ SƠ HỌC BẠ SỐ – " + ("CHUYỂN TRƯỜNG" if manifest.reason == "transferred" else "TỐT NGHIỆP")
    pdf.cell(0, 9, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    records = [f for f in manifest.files if f.kind == "record_pdf"]
    _lines(
        pdf,
        [
            ("Học sinh:", student.full_name),
            ("Mã định danh:", student.national_id),
            ("Ngày sinh:", day_text(student.date_of_birth)),
            ("Lý do:", reason),
            ("Trường gửi:", f"{manifest.school.name}, {manifest.school.province}".strip(", ")),
            ("Ngày lập:", school_time_text(manifest.created_at)),
            ("Số học bạ năm học:", str(len(records))),
            ("Mã hồ sơ:", str(manifest.package_id)),
        ],
    )
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 8.5)
    pdf.multi_cell(
        0,
        4.5,
        "Hồ sơ gồm các tệp đính kèm dưới đây, đúng như nhà trường lưu trữ (học bạ đã ký số và đóng "
        "dấu, dữ liệu JSON/XML, thông tin cá nhân) và bản kê manifest.json với SHA-256 của từng tệp. "
        "Toàn bộ hồ sơ được đóng dấu số của nhà trường: mọi phần mềm kiểm tra chữ ký PDF đều kiểm "
        "tra được mà không cần kết nối mạng.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    _file_table(pdf, [(f.name, KIND_LABELS[f.kind], f.sha256) for f in manifest.files])
    when = manifest.created_at
    for file in files:
        _attach(pdf, file.entry.name, file.data, file.entry.media_type, KIND_LABELS[file.entry.kind], when)
    _attach(
        pdf,
        MANIFEST_NAME,
        manifest.model_dump_json(indent=1).encode(),
        "application/json",
        "Bản kê các tệp của hồ sơ (SHA-256)",
        when,
    )
    return bytes(pdf.output())


def render_receipt(receipt: Receipt) -> bytes:
    """The receipt (biên nhận hồ sơ) before the receiving school's seal."""
    pdf = _new_pdf(f"Biên nhận hồ sơ học bạ số – {receipt.student_full_name}", receipt.receiver.name)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 6, _nfc(receipt.receiver.name.upper()), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 9, "BIÊN NHẬN HỒ SƠ HỌC BẠ SỐ", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _lines(
        pdf,
        [
            ("Trường gửi:", receipt.sender.name),
            ("Trường nhận:", receipt.receiver.name),
            ("Học sinh:", receipt.student_full_name),
            ("Mã định danh:", receipt.student_national_id),
            ("Mã hồ sơ:", str(receipt.package_id)),
            ("SHA-256 của hồ sơ:", receipt.package_sha256),
            ("Số học bạ năm học:", str(receipt.records)),
            ("Thời điểm tiếp nhận:", school_time_text(receipt.received_at)),
        ],
    )
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 8.5)
    pdf.multi_cell(
        0,
        4.5,
        "Nhà trường đã kiểm tra dấu số của hồ sơ và chữ ký số của từng học bạ theo danh sách tổ chức cấp "
        "chứng thư số được tin cậy của mình: tất cả hợp lệ. Các tệp đã tiếp nhận:",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    _file_table(pdf, [(f.name, "đã kiểm tra", f.sha256) for f in receipt.files])
    _attach(
        pdf,
        RECEIPT_NAME,
        receipt.model_dump_json(indent=1).encode(),
        "application/json",
        "Biên nhận (dữ liệu có cấu trúc)",
        receipt.received_at,
    )
    return bytes(pdf.output())


class UnreadablePackage(Exception):
    """Not a PDF, or its attachments cannot be read."""


def attachments(pdf: bytes) -> tuple[dict[str, bytes], list[str]]:
    """Every attached file of a PDF (name → bytes, decoded), and the names attached twice."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        names = reader.root.get("/Names")
        tree = names.get("/EmbeddedFiles") if names is not None else None
        found: dict[str, bytes] = {}
        twice: list[str] = []
        if tree is not None:
            for name, spec in _name_tree(tree.get_object()):
                data = bytes(spec["/EF"]["/F"].get_object().data)
                if name in found:
                    twice.append(name)
                found[name] = data
    except Exception as error:
        raise UnreadablePackage(f"{type(error).__name__}: {error}"[:300]) from error
    return found, twice


def _name_tree(node: Any, depth: int = 0) -> list[tuple[str, Any]]:
    if depth > 16:
        raise UnreadablePackage("the attachments' name tree is too deep")
    items: list[tuple[str, Any]] = []
    if "/Names" in node:
        flat = list(node["/Names"])
        for index in range(0, len(flat) - 1, 2):
            spec = flat[index + 1].get_object()
            name = spec.get("/UF") or spec.get("/F") or flat[index]
            items.append((str(name), spec))
    for kid in node.get("/Kids", []):
        items.extend(_name_tree(kid.get_object(), depth + 1))
    return items
