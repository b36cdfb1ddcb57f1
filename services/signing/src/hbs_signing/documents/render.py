"""A one-page placeholder score sheet (the real sheet replaces its content later)."""

from __future__ import annotations

import unicodedata

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
TITLE = "SỔ ĐIỂM — BẢN THỬ NGHIỆM"
_FONT = "DejaVu"


def render_placeholder_sheet(
    *,
    school_name: str,
    class_name: str,
    subject: str,
    term: str,
    school_year: str,
    teacher_name: str,
    verification_code: str,
) -> bytes:
    from fpdf import FPDF  # imported on first use: it is half the service's start-up time

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(TITLE)
    pdf.set_author(_nfc(school_name))
    pdf.set_creator("HBS")
    pdf.add_font(_FONT, "", f"{FONT_DIR}/DejaVuSans.ttf")
    pdf.add_font(_FONT, "B", f"{FONT_DIR}/DejaVuSans-Bold.ttf")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()

    pdf.set_font(_FONT, "B", 12)
    pdf.cell(0, 7, _nfc(school_name).upper(), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(6)
    pdf.set_font(_FONT, "B", 18)
    pdf.cell(0, 10, TITLE, new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(8)

    rows = [
        ("Lớp", class_name),
        ("Môn học", subject),
        ("Học kỳ", term),
        ("Năm học", school_year),
        ("Giáo viên bộ môn", teacher_name),
        ("Mã tra cứu", verification_code),
    ]
    for label, value in rows:
        pdf.set_font(_FONT, "B", 12)
        pdf.cell(55, 9, f"{label}:")
        pdf.set_font(_FONT, "", 12)
        pdf.cell(0, 9, _nfc(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font(_FONT, "", 10)
    pdf.multi_cell(
        0,
        6,
        "Đây là bản thử nghiệm: bảng điểm chi tiết sẽ được bổ sung. Tra cứu tính xác thực của "
        "văn bản bằng mã tra cứu ở trên.",
    )

    # The signer's block sits where the signing service draws its visible stamp (lower right).
    pdf.set_xy(115, 222)
    pdf.set_font(_FONT, "B", 11)
    pdf.cell(75, 7, "GIÁO VIÊN BỘ MÔN", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(_FONT, "", 10)
    pdf.cell(75, 6, "(Ký số)", align="C")
    return bytes(pdf.output())


def _nfc(text: str) -> str:
    # Vietnamese is stored precomposed (NFC) so the PDF's text layer matches what users type.
    return unicodedata.normalize("NFC", text)
