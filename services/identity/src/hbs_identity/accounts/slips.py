"""Printable sign-in slips (phiếu đăng nhập): four to an A4 page, cut along the lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@dataclass(frozen=True)
class Slip:
    full_name: str
    who: str
    """e.g. "Học sinh lớp 10A1" or "Phụ huynh của Nguyễn Văn An (10A1)"."""
    login: str
    password: str


def render_slips(school_name: str, portal_url: str, slips: list[Slip]) -> bytes:
    from fpdf import FPDF  # lazy: fpdf is heavy and only slips need it

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD if FONT_BOLD.exists() else FONT))
    height = 297 / 4
    for index, slip in enumerate(slips):
        if index % 4 == 0:
            pdf.add_page()
        top = (index % 4) * height
        pdf.set_draw_color(150, 150, 150)
        pdf.set_dash_pattern(dash=2, gap=2)
        pdf.line(8, top + height, 202, top + height)
        pdf.set_dash_pattern()
        pdf.set_xy(14, top + 8)
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(0, 5, school_name)
        pdf.set_xy(14, top + 14)
        pdf.set_font("DejaVu", "B", 13)
        pdf.cell(0, 7, "PHIẾU THÔNG TIN ĐĂNG NHẬP HỌC BẠ SỐ")
        pdf.set_font("DejaVu", "", 11)
        rows = (
            ("Họ và tên", slip.full_name),
            ("Đối tượng", slip.who),
            ("Địa chỉ", portal_url),
            ("Tên đăng nhập", slip.login),
            ("Mật khẩu ban đầu", slip.password),
        )
        for line, (label, value) in enumerate(rows):
            pdf.set_xy(14, top + 25 + line * 7)
            pdf.set_font("DejaVu", "", 11)
            pdf.cell(42, 6, f"{label}:")
            pdf.set_font("DejaVu", "B" if label in {"Tên đăng nhập", "Mật khẩu ban đầu"} else "", 11)
            pdf.cell(0, 6, value)
        pdf.set_xy(14, top + 25 + len(rows) * 7 + 1)
        pdf.set_font("DejaVu", "", 8.5)
        pdf.multi_cell(
            180,
            4.5,
            "Lần đăng nhập đầu tiên, hệ thống yêu cầu đổi mật khẩu. Giữ phiếu này cẩn thận, "
            "không đưa cho người khác; mất phiếu xin báo văn phòng nhà trường để cấp lại.",
        )
    return bytes(pdf.output())
