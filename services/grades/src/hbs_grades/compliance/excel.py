"""The compliance report as .xlsx (numbers as numbers; text never becomes a formula)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hbs_grades.compliance.schemas import ComplianceOut
from hbs_grades.xlsx import new_book, put, save, write_header, write_title

_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LABELS = [
    "STT",
    "Họ và tên",
    "Bước",
    "Học kỳ / năm",
    "Số việc",
    "Đúng hạn",
    "Trễ hạn",
    "Quá hạn chưa xong",
    "Chưa đến hạn / chưa xong",
    "Được gia hạn",
    "Bị trả lại",
    "Điều chỉnh sau ký",
    "Trễ nhiều nhất (giờ)",
    "Tổng thời gian trễ (giờ)",
    "Trễ trung bình (giờ)",
]


def compliance_xlsx(report: ComplianceOut) -> bytes:
    book, ws = new_book("Chấp hành thời hạn")
    counted = report.counted_at.astimezone(_TZ).strftime("%d/%m/%Y %H:%M")
    write_title(ws, 1, f"CHẤP HÀNH THỜI HẠN – NĂM HỌC {report.school_year} (tính đến {counted})")
    write_header(ws, 3, LABELS, [5, 28, 30, 16, *([12] * 11)])
    for offset, row in enumerate(report.rows):
        values: list[object] = [
            offset + 1,
            row.person_name,
            row.step_label,
            row.period_label,
            row.items,
            row.on_time,
            row.late,
            row.open_late,
            row.pending,
            row.extended,
            row.returned,
            row.corrections,
            row.late_max_hours,
            row.late_total_hours,
            row.late_average_hours,
        ]
        for column, value in enumerate(values, start=1):
            put(ws, 4 + offset, column, value)
    ws.freeze_panes = "C4"
    return save(book)
