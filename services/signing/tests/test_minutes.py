"""The minutes of a sheet's correction (Đ9.2) render as a small Vietnamese PDF (only a board member's
request is accepted: test_request_acceptance.py; the real signature and its verification:
tests/test_oversight.py)."""

from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

from hbs_signing.documents.layout import Verification, render_minutes
from hbs_signing.samples import minutes_content


def test_the_minutes_render_as_one_vietnamese_page_with_every_cell(tmp_path: Path) -> None:
    content = minutes_content()
    pdf = render_minutes(content, "vice_principal", Verification("ABCDE23456", "http://x/verify/ABCDE23456"))
    path = tmp_path / "minutes.pdf"
    path.write_bytes(pdf)
    extracted = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    text = unicodedata.normalize("NFC", extracted.stdout)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info
    for expected in (
        "BIÊN BẢN ĐIỀU CHỈNH SỔ ĐIỂM ĐÃ KÝ",
        "Số: 07/BB-HBS",
        "Ngày 20/05/2027",
        "Sổ điểm môn Toán, lớp 10A1",
        "Trần Văn Minh – Hiệu trưởng",
        "Nhập nhầm điểm cuối kỳ",
        "Đỗ Hữu Anh",
        "ĐĐGtx 2",
        "6.5",
        "(trống)",
        "PHÓ HIỆU TRƯỞNG (ký số)",
        "ABCDE23456",
    ):
        assert expected in text, expected
