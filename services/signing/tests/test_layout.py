"""The real score sheet and year record: Vietnamese text, PDF/A-3, attachments, QR and code per page."""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

from hbs_signing.documents.layout import Verification, render_score_sheet, render_year_record
from hbs_signing.samples import score_sheet_content, year_record_content

VERIFY = Verification("7KQ2M9XH4P", "https://hocba.example.vn/verify/7KQ2M9XH4P")


def _run(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        [tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
        capture_output=True,
        text=True,
        check=True,
    )
    return unicodedata.normalize("NFC", out.stdout)


def test_year_record_reads_like_the_paper_page(tmp_path: Path) -> None:
    record = year_record_content()
    pdf = render_year_record(record, VERIFY)
    text = _run("pdftotext", pdf, tmp_path)
    for expected in (
        "HỌC BẠ",
        "TRƯỜNG THPT CHUYÊN THÁI BÌNH",
        "Đỗ Thị Ngọc Ánh",
        "Giáo dục quốc phòng và an ninh",
        "Rèn luyện",
        "Học tập",
        "Tổng số buổi nghỉ học cả năm: 2",
        "Được lên lớp",
        "Học sinh Giỏi",
        "đã sửa chữa 1 chỗ, thuộc các môn: Toán",
        "Nhận xét của giáo viên chủ nhiệm",
        "HIỆU TRƯỞNG",
        "DẤU CỦA NHÀ TRƯỜNG",
        "Mã tra cứu: 7KQ2M9XH4P",
        "https://hocba.example.vn/verify/7KQ2M9XH4P",
    ):
        assert expected in text, expected


def test_score_sheet_has_code_and_qr_on_every_page(tmp_path: Path) -> None:
    sheet = score_sheet_content(rows=60)
    pdf = render_score_sheet(sheet, VERIFY)
    pages = int(re.search(r"^Pages:\s+(\d+)$", _run("pdfinfo", pdf, tmp_path), re.M).group(1))  # type: ignore[union-attr]
    assert pages >= 2
    for page in range(1, pages + 1):
        text = _run("pdftotext", pdf, tmp_path, "-f", str(page), "-l", str(page))
        assert "Mã tra cứu: 7KQ2M9XH4P" in text
        assert f"Trang {page}/{pages}" in text
    text = _run("pdftotext", pdf, tmp_path)
    assert "Trần Thị Ngọc Ánh 60" in text
    assert "GIÁO VIÊN BỘ MÔN" in text


def test_pdf_a3_with_json_and_xml_attached(tmp_path: Path) -> None:
    record = year_record_content()
    pdf = render_year_record(record, VERIFY)
    info = _run("pdfinfo", pdf, tmp_path, "-meta")
    assert "pdfaid:part" in info
    assert re.search(r"pdfaid:part[^0-9]*3", info)
    listing = _run("pdfdetach", pdf, tmp_path, "-list")
    assert "hoc-ba.json" in listing
    assert "hoc-ba.xml" in listing
    (tmp_path / "out").mkdir()
    subprocess.run(
        ["pdfdetach", "-saveall", "-o", str(tmp_path / "out"), str(tmp_path / "doc.pdf")], check=True
    )
    data = json.loads((tmp_path / "out" / "hoc-ba.json").read_text())
    assert data["student"]["full_name"] == "Đỗ Thị Ngọc Ánh"
    assert data["record_id"] == str(record.record_id)
    xml = ET.parse(tmp_path / "out" / "hoc-ba.xml").getroot()  # noqa: S314 - our own file
    assert xml.tag.endswith("HocBaNamHoc")
    assert xml.find("{urn:hbs:record:1}student/{urn:hbs:record:1}full_name").text == "Đỗ Thị Ngọc Ánh"  # type: ignore[union-attr]
    fonts = _run("pdffonts", pdf, tmp_path).splitlines()[2:]
    assert fonts
    assert all(" yes yes yes " in line for line in fonts)
