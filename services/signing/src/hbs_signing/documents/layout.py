"""The score sheet and the year record as PDF/A-3 with the machine-readable record attached.

Every page carries a QR code and the short verification code that lead to the public
verification page; the last page leaves fixed boxes free where each signer's visible stamp goes
(``SHEET_BOXES`` / ``RECORD_BOXES``, in PDF points from the lower left, as pyHanko wants them).
"""

from __future__ import annotations

import functools
import os
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hbs_shared.display import average_text, score_text
from hbs_shared.labels import RATING_LABELS, TERM_LABELS, YEAR_LABEL
from hbs_shared.records import CorrectionMinutesContent, ScoreSheetContent, YearRecordContent

if TYPE_CHECKING:
    from fpdf import FPDF

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
_FONT = "DejaVu"
_PT = 25.4 / 72  # millimetres per point

# Stamp boxes (x1, y1, x2, y2) in points on the LAST page. Field names are fixed per role.
SHEET_FIELD = "Sig1_GVBM"
SHEET_BOXES: Mapping[str, tuple[int, int, int, int]] = {SHEET_FIELD: (560, 92, 800, 160)}
RECORD_FIELDS: Mapping[str, str] = {
    "homeroom_teacher": "Sig1_GVCN",
    "vice_principal": "Sig2_PHT",
    "principal": "Sig3_HT",
    "seal": "Sig4_DauTruong",
}
RECORD_BOXES: Mapping[str, tuple[int, int, int, int]] = {
    "Sig1_GVCN": (40, 182, 290, 248),
    "Sig2_PHT": (305, 182, 555, 248),
    "Sig3_HT": (40, 88, 290, 154),
    "Sig4_DauTruong": (305, 88, 555, 154),
}
MINUTES_FIELDS: Mapping[str, str] = {"principal": "BB_HT", "vice_principal": "BB_PHT"}
"""The minutes of a correction (biên bản): one signature, the board member's, its field named by role."""
MINUTES_BOX: tuple[int, int, int, int] = (305, 88, 555, 154)
_RATING = RATING_LABELS
_TERM = TERM_LABELS


@dataclass(frozen=True)
class Verification:
    code: str
    url: str  # {public portal}/verify/{code}


def verification_url(portal_url: str, code: str) -> str:
    return f"{portal_url.rstrip('/')}/verify/{code}"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _new_pdf(orientation: str, title: str, author: str, verification: Verification) -> FPDF:
    from fpdf import FPDF  # imported on first use: it is half the service's start-up time

    class _Page(FPDF):
        def footer(self) -> None:
            _footer(self, verification)

    pdf = _Page(orientation=orientation, unit="mm", format="A4", enforce_compliance="PDF/A-3B")
    pdf.set_title(_nfc(title))
    pdf.set_author(_nfc(author))
    pdf.set_creator("HBS")
    pdf.set_lang("vi-VN")
    fonts = _prepared_fonts()
    for style, path in fonts.items():
        pdf.add_font(_FONT, style, path)
    pdf.set_margins(15, 12, 15)
    pdf.set_auto_page_break(auto=False)
    return pdf


_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
_DOCUMENT_CHARACTERS = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x180),  # Latin-1 and Latin Extended-A (Ă Đ Ĩ Ũ …)
    *range(0x1A0, 0x1B1),  # Ơ ơ Ư ư
    *range(0x300, 0x310),  # combining marks, should a decomposed letter slip through
    *range(0x1EA0, 0x1EFA),  # Latin Extended Additional: the rest of Vietnamese
    *range(0x2010, 0x2027),
    0x20AB,
    0x2116,
]


_FONTS_GIVEN: dict[str, str] = {}


def use_prepared_fonts(paths: dict[str, str]) -> None:
    """Fonts another process of this service already cut (a render worker reuses its parent's)."""
    _FONTS_GIVEN.update(paths)


def _prepared_fonts() -> dict[str, str]:
    if _FONTS_GIVEN and all(os.path.exists(p) for p in _FONTS_GIVEN.values()):
        return _FONTS_GIVEN
    return _cut_fonts()


@functools.cache
def _cut_fonts() -> dict[str, str]:
    """DejaVu cut to Latin + Vietnamese without layout tables, once per process.

    Loading the whole DejaVu TTF for every document was most of the rendering time (about
    0.25 s of 0.3 s); the cut fonts load in a few milliseconds. NFC Vietnamese needs no shaping.
    """
    from fontTools import subset  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    directory = tempfile.mkdtemp(prefix="hbs-fonts-")
    prepared = {}
    for style, name in _FONT_FILES.items():
        font = TTFont(os.path.join(FONT_DIR, name))
        options = subset.Options()
        options.layout_features = []
        options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "MATH", "FFTM"]
        options.hinting = False
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=_DOCUMENT_CHARACTERS)
        subsetter.subset(font)
        path = os.path.join(directory, name)
        font.save(path)
        prepared[style] = path
    return prepared


def _footer(pdf: FPDF, verification: Verification) -> None:
    import segno

    size = 16.0
    x, y = pdf.l_margin, pdf.h - 8 - size
    matrix = segno.make(verification.url, error="m").matrix
    cell = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(matrix):
        for column, dark in enumerate(line):
            if dark:
                pdf.rect(x + column * cell, y + row * cell, cell, cell, style="F")
    pdf.set_xy(x + size + 3, y + 3)
    pdf.set_font(_FONT, "B", 9)
    pdf.cell(0, 4.5, f"Mã tra cứu: {verification.code}", new_x="LEFT", new_y="NEXT")
    pdf.set_font(_FONT, "", 8)
    pdf.cell(0, 4, f"Kiểm tra tính xác thực tại {verification.url}", new_x="LEFT", new_y="NEXT")
    pdf.cell(0, 4, f"Trang {pdf.page_no()}/{{nb}}")


def _attach(pdf: FPDF, stem: str, json_text: str, xml_bytes: bytes) -> None:
    when = datetime.now(UTC)
    pdf.embed_file(
        bytes=json_text.encode(),
        basename=f"{stem}.json",
        modification_date=when,
        mime_type="application/json",
        associated_file_relationship="Data",
        desc="Dữ liệu có cấu trúc (JSON)",
    )
    pdf.embed_file(
        bytes=xml_bytes,
        basename=f"{stem}.xml",
        modification_date=when,
        mime_type="application/xml",
        associated_file_relationship="Alternative",
        desc="Dữ liệu trao đổi (XML)",
    )


def to_xml(root_name: str, data: Mapping[str, Any]) -> bytes:
    """A plain XML rendering of the record (element per field; lists as repeated <item>)."""
    root = ET.Element(root_name, {"xmlns": "urn:hbs:record:1"})

    def fill(element: ET.Element, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                fill(ET.SubElement(element, str(key)), inner)
        elif isinstance(value, list | tuple):
            for inner in value:
                fill(ET.SubElement(element, "item"), inner)
        elif value is None:
            element.set("nil", "true")
        elif isinstance(value, bool):
            element.text = "true" if value else "false"
        else:
            element.text = _nfc(str(value))

    fill(root, data)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _table(
    pdf: FPDF,
    widths: Sequence[float],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    bottom_limit: float,
    on_new_page: Callable[[], None],
    line_height: float = 6.0,
    font_size: float = 8.5,
    left_columns: tuple[int, ...] = (1,),
) -> None:
    def head() -> None:
        pdf.set_font(_FONT, "B", font_size)
        pdf.set_fill_color(230, 230, 230)
        for width, text in zip(widths, header, strict=True):
            pdf.cell(width, line_height + 1, text, border=1, align="C", fill=True)
        pdf.ln(line_height + 1)

    head()
    pdf.set_font(_FONT, "", font_size)
    for row in rows:
        if pdf.get_y() + line_height > bottom_limit:
            pdf.add_page()
            on_new_page()
            head()
            pdf.set_font(_FONT, "", font_size)
        for index, (width, text) in enumerate(zip(widths, row, strict=True)):
            pdf.cell(
                width,
                line_height,
                _fit(pdf, _nfc(text), width - 2),
                border=1,
                align="L" if index in left_columns else "C",
            )
        pdf.ln(line_height)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Shorten a cell's text with an ellipsis so it never runs into the next column."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _signature_labels(
    pdf: FPDF, labels: Mapping[str, str], boxes: Mapping[str, tuple[int, int, int, int]]
) -> None:
    pdf.set_font(_FONT, "B", 9.5)
    for field, label in labels.items():
        x1, _y1, x2, y2 = boxes[field]
        top_mm = pdf.h - y2 * _PT
        pdf.set_xy(x1 * _PT, top_mm - 6)
        pdf.cell((x2 - x1) * _PT, 5, label, align="C")


def render_score_sheet(content: ScoreSheetContent, verification: Verification) -> bytes:
    title = "SỔ ĐIỂM"
    pdf = _new_pdf(
        "L", f"{title} {content.subject_name} {content.class_name}", content.school_name, verification
    )
    pdf.add_page()
    pdf.set_font(_FONT, "B", 11)
    pdf.cell(0, 6, _nfc(content.school_name).upper(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "B", 15)
    pdf.cell(0, 9, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", 10.5)
    pdf.cell(
        0,
        6,
        _nfc(
            f"Môn: {content.subject_name}    Lớp: {content.class_name}    {_TERM[content.term]}    "
            f"Năm học: {content.school_year}    Giáo viên bộ môn: {content.teacher_name}"
        ),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    regular = content.regular_count
    header = [
        "STT",
        "Họ và tên",
        "Mã định danh",
        *[f"TX{i + 1}" for i in range(regular)],
        "GK",
        "CK",
        "ĐTBmhk",
        "Nhận xét",
    ]
    widths = [10.0, 55.0, 32.0, *([12.0] * regular), 12.0, 12.0, 18.0]
    widths.append(pdf.w - pdf.l_margin - pdf.r_margin - sum(widths))
    rows = []
    for number, row in enumerate(content.rows, start=1):
        regulars = [score_text(v) for v in [*row.regular, *([""] * (regular - len(row.regular)))][:regular]]
        status = {"exempt": "Miễn", "not_assessed": "Chưa đánh giá"}.get(row.status)
        rows.append(
            [
                str(number),
                row.full_name,
                row.national_id,
                *regulars,
                score_text(row.midterm),
                score_text(row.final),
                status or average_text(row.average),
                row.comment,
            ]
        )
    bottom = pdf.h - 30
    _table(
        pdf,
        widths,
        header,
        rows,
        bottom_limit=bottom,
        on_new_page=lambda: None,
        left_columns=(1, 2, len(widths) - 1),
    )
    box_top_mm = pdf.h - SHEET_BOXES[SHEET_FIELD][3] * _PT - 8
    if pdf.get_y() > box_top_mm:
        pdf.add_page()
    _signature_labels(pdf, {SHEET_FIELD: "GIÁO VIÊN BỘ MÔN (ký số)"}, SHEET_BOXES)
    data = content.model_dump(mode="json")
    _attach(pdf, "so-diem", content.model_dump_json(indent=1), to_xml("SoDiem", data))
    return bytes(pdf.output())


def _rating(value: str | None) -> str:
    return _RATING.get(value or "", "") if value else ""


def render_year_record(content: YearRecordContent, verification: Verification) -> bytes:
    student = content.student
    pdf = _new_pdf(
        "P", f"HỌC BẠ {student.full_name} {content.school_year}", content.school_name, verification
    )
    pdf.add_page()
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(90, 5, _nfc(f"SỞ GD&ĐT {content.province}").upper(), align="C")
    pdf.cell(0, 5, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(90, 5, _nfc(content.school_name).upper(), align="C")
    pdf.cell(0, 5, "Độc lập – Tự do – Hạnh phúc", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(_FONT, "B", 14)
    pdf.cell(0, 8, "HỌC BẠ — KẾT QUẢ HỌC TẬP VÀ RÈN LUYỆN", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", 10)
    gender = "Nam" if student.gender == "male" else "Nữ"
    lines = [
        f"Họ và tên: {student.full_name}    Giới tính: {gender}    "
        f"Ngày sinh: {student.date_of_birth:%d/%m/%Y}",
        f"Mã định danh: {student.national_id}    Dân tộc: {student.ethnicity}    "
        f"Nơi sinh: {student.birthplace}",
        f"Lớp: {content.class_name}    Năm học: {content.school_year}",
    ]
    for line in lines:
        pdf.cell(0, 5.5, _nfc(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    header = [
        "STT",
        "Môn học / Hoạt động giáo dục",
        TERM_LABELS["HK1"],
        TERM_LABELS["HK2"],
        YEAR_LABEL,
        "Sau KT lại",
        "GV bộ môn",
    ]
    widths = [10.0, 55.0, 18.0, 18.0, 18.0, 20.0]
    widths.append(pdf.w - pdf.l_margin - pdf.r_margin - sum(widths))
    rows = []
    for number, subject in enumerate(content.subjects, start=1):
        status = {"exempt": "Miễn", "not_assessed": "Chưa đánh giá"}.get(subject.status)
        rows.append(
            [
                str(number),
                subject.subject_name,
                average_text(subject.semester1),
                average_text(subject.semester2),
                status or average_text(subject.year),
                average_text(subject.after_reexam),
                subject.teacher_name,
            ]
        )
    _table(
        pdf,
        widths,
        header,
        rows,
        bottom_limit=pdf.h - 30,
        on_new_page=lambda: None,
        line_height=5.6,
        left_columns=(1, len(widths) - 1),
    )
    pdf.ln(1.5)
    pdf.set_font(_FONT, "I", 9)
    subjects = ", ".join(content.corrections_subjects) or "—"
    pdf.multi_cell(
        0,
        4.5,
        _nfc(f"Trong bảng này đã sửa chữa {content.corrections_count} chỗ, thuộc các môn: {subjects}."),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(1)
    results = [
        [
            "Rèn luyện",
            _rating(content.conduct_semester1),
            _rating(content.conduct_semester2),
            _rating(content.conduct_year),
        ],
        [
            "Học tập",
            _rating(content.learning_semester1),
            _rating(content.learning_semester2),
            _rating(content.learning_year),
        ],
    ]
    if pdf.get_y() + 20 > pdf.h - 30:
        pdf.add_page()
    _table(
        pdf,
        [40.0, 30.0, 30.0, 30.0],
        ["Kết quả", TERM_LABELS["HK1"], TERM_LABELS["HK2"], YEAR_LABEL],
        results,
        bottom_limit=pdf.h - 30,
        on_new_page=lambda: None,
        line_height=5.6,
        font_size=9,
    )
    promoted = {True: "Được lên lớp", False: "Không được lên lớp", None: "—"}[content.promoted]
    facts = [
        f"Tổng số buổi nghỉ học cả năm: {content.absent_sessions}",
        f"Lên lớp: {promoted}",
        f"Kết quả rèn luyện hè: {_rating(content.summer_training_result) or '—'}    "
        f"Kết quả kiểm tra lại: {_rating(content.reexam_result) or '—'}",
        f"Danh hiệu: {content.title or '—'}",
        f"Nhận xét của giáo viên chủ nhiệm: {content.homeroom_remarks or '—'}",
    ]
    pdf.ln(1)
    pdf.set_font(_FONT, "", 9.5)
    for fact in facts:
        pdf.multi_cell(0, 5, _nfc(fact), new_x="LMARGIN", new_y="NEXT")
    labels = {
        "Sig1_GVCN": f"GIÁO VIÊN CHỦ NHIỆM {content.homeroom_teacher_name}".strip(),
        "Sig2_PHT": "PHÓ HIỆU TRƯỞNG (kiểm tra)",
        "Sig3_HT": f"HIỆU TRƯỞNG {content.principal_name}".strip(),
        "Sig4_DauTruong": "DẤU CỦA NHÀ TRƯỜNG",
    }
    box_top_mm = pdf.h - max(box[3] for box in RECORD_BOXES.values()) * _PT - 14
    if pdf.get_y() > box_top_mm:
        pdf.add_page()
    pdf.set_xy(pdf.l_margin, box_top_mm)
    pdf.set_font(_FONT, "I", 9.5)
    place = content.place_and_date or f"{content.province}, ngày … tháng … năm …"
    pdf.cell(0, 5, _nfc(place), align="R")
    _signature_labels(pdf, {k: _nfc(v)[:48] for k, v in labels.items()}, RECORD_BOXES)
    data = content.model_dump(mode="json")
    _attach(pdf, "hoc-ba", content.model_dump_json(indent=1), to_xml("HocBaNamHoc", data))
    return bytes(pdf.output())


def render_minutes(content: CorrectionMinutesContent, signer_role: str, verification: Verification) -> bytes:
    """Biên bản điều chỉnh sổ điểm đã ký (Đ9.2): the minutes' facts, the sheet, the cells and their
    signed values; the board member who opened the correction signs it."""
    pdf = _new_pdf("P", f"BIÊN BẢN ĐIỀU CHỈNH {content.minutes_number}", content.school_name, verification)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(90, 5, _nfc(content.school_name).upper(), align="C")
    pdf.cell(0, 5, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", 10)
    pdf.cell(90, 5, _nfc(f"Số: {content.minutes_number}"), align="C")
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(0, 5, "Độc lập – Tự do – Hạnh phúc", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(_FONT, "B", 14)
    pdf.cell(0, 8, "BIÊN BẢN ĐIỀU CHỈNH SỔ ĐIỂM ĐÃ KÝ", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", 10)
    pdf.cell(0, 5.5, _nfc(f"Ngày {content.minutes_date:%d/%m/%Y}"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    lines = [
        f"Sổ điểm môn {content.subject_name}, lớp {content.class_name}, {_TERM[content.term]}, "
        f"năm học {content.school_year}; giáo viên bộ môn: {content.teacher_name}.",
        f"Người lập biên bản: {content.opened_by_name}.",
        "Thành phần có mặt:",
        *[f"    – {line}" for line in content.present],
        f"Lý do điều chỉnh: {content.reason}",
        f"Các ô được điều chỉnh ({len(content.cells)}), với giá trị trong bản đã ký:",
    ]
    for line in lines:
        pdf.multi_cell(0, 5.5, _nfc(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    widths = [10.0, 62.0, 34.0, 30.0]
    widths.append(pdf.w - pdf.l_margin - pdf.r_margin - sum(widths))
    rows = [
        [str(number), cell.full_name, cell.national_id, cell.column_label, cell.old_value or "(trống)"]
        for number, cell in enumerate(content.cells, start=1)
    ]
    _table(
        pdf,
        widths,
        ["STT", "Học sinh", "Mã định danh", "Cột", "Giá trị đã ký"],
        rows,
        bottom_limit=pdf.h - 30,
        on_new_page=lambda: None,
        left_columns=(1, 2, 4),
    )
    box_top_mm = pdf.h - MINUTES_BOX[3] * _PT - 8
    if pdf.get_y() > box_top_mm:
        pdf.add_page()
    field = MINUTES_FIELDS.get(signer_role, MINUTES_FIELDS["principal"])
    label = "HIỆU TRƯỞNG" if signer_role == "principal" else "PHÓ HIỆU TRƯỞNG"
    _signature_labels(pdf, {field: f"{label} (ký số)"}, {field: MINUTES_BOX})
    data = content.model_dump(mode="json")
    _attach(pdf, "bien-ban", content.model_dump_json(indent=1), to_xml("BienBanDieuChinh", data))
    return bytes(pdf.output())
