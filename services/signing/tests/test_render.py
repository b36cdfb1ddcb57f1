"""The placeholder score sheet: one small A4 page whose text is correct Vietnamese."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

from hbs_signing.documents.layout import Verification, render_score_sheet
from hbs_signing.documents.render import render_placeholder_sheet
from hbs_signing.samples import score_sheet_content


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return unicodedata.normalize("NFC", out.stdout)


def _info(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "info.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout


def test_sheet_text_is_correct_vietnamese(sheet_fields: dict[str, str], tmp_path: Path) -> None:
    text = _text(render_placeholder_sheet(**sheet_fields), tmp_path)

    assert "SỔ ĐIỂM — BẢN THỬ NGHIỆM" in text
    for value in sheet_fields.values():
        if value != sheet_fields["school_name"]:
            assert unicodedata.normalize("NFC", value) in text
    assert "TRƯỜNG THPT CHUYÊN THÁI BÌNH" in text
    assert "Mã tra cứu" in text


def test_sheet_is_one_small_a4_page(sheet_fields: dict[str, str], tmp_path: Path) -> None:
    pdf = render_placeholder_sheet(**sheet_fields)

    info = _info(pdf, tmp_path)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) < 50_000
    assert re.search(r"^Pages:\s+1$", info, re.M)
    assert "(A4)" in info
    assert "SỔ ĐIỂM — BẢN THỬ NGHIỆM" in unicodedata.normalize("NFC", info)


def test_fonts_are_embedded(sheet_fields: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(render_placeholder_sheet(**sheet_fields))

    fonts = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]

    assert fonts
    assert all("DejaVu" in line and " yes yes yes " in line for line in fonts)


def test_the_score_sheet_shows_scores_with_a_decimal_comma_and_keeps_the_data_as_is(tmp_path: Path) -> None:
    """Issue 15: "8,5" on paper; the attached machine-readable record keeps "8.5"."""
    content = score_sheet_content(rows=2)
    whole = content.rows[1].model_copy(update={"average": "9.0", "final": "9"})
    content = content.model_copy(update={"rows": [content.rows[0], whole]})
    text = _text(render_score_sheet(content, Verification("ABCD1234", "https://x/verify/ABCD1234")), tmp_path)
    assert "8,5" in text
    assert "7,5" in text
    assert "8,6" in text
    assert "9,0" in text  # an average shows one decimal always; a score as entered ("9")
    assert not re.search(r"\b\d\.\d\b", text.replace("2025-2026", ""))
    assert content.rows[0].midterm == "8.5"
