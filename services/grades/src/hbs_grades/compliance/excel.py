"""The compliance report as .xlsx (numbers as numbers; text never becomes a formula)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hbs_grades.compliance.schemas import ComplianceOut
from hbs_grades.windows.rules import STEP_TITLES, period_label
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
    put(ws, 2, 1, chosen(report))
    labels = [LABELS[0], "Tổ chuyên môn" if report.group_by == "department" else LABELS[1], *LABELS[2:]]
    write_header(ws, 3, labels, [5, 28, 30, 16, *([12] * 11)])
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


def chosen(report: ComplianceOut) -> str:
    """The filters the file was made with, in words ("Lọc: Học kỳ I; bước 1; …" or "Tất cả")."""
    parts = []
    if report.period:
        parts.append(period_label(report.period, report.school_year))
    if report.step is not None:
        parts.append(STEP_TITLES[report.step])
    if report.department:
        parts.append(report.department)
    if report.teacher_id:
        names = [p.name for p in report.people if p.id == report.teacher_id]
        parts.append(names[0] if names else "giáo viên đã chọn")
    return "Lọc: " + "; ".join(parts) if parts else "Tất cả"
