"""Reports as .xlsx: the class result sheet (bảng tổng hợp) and subject statistics."""

from __future__ import annotations

from decimal import Decimal

from hbs_grades.reports.schemas import ClassResultsOut
from hbs_grades.reports.stats import SubjectStats
from hbs_grades.xlsx import new_book, put, save, write_header, write_title
from hbs_shared.display import score_number
from hbs_shared.labels import RATING_LABELS

_LEVEL: dict[str | None, str] = {None: "", **{code: label for code, label in RATING_LABELS.items()}}


def class_results_xlsx(results: ClassResultsOut) -> bytes:
    book, ws = new_book("Bảng tổng hợp")
    write_title(ws, 1, f"BẢNG TỔNG HỢP KẾT QUẢ – LỚP {results.class_name} – NĂM HỌC {results.school_year}")
    labels = [
        "STT",
        "Mã định danh",
        "Họ và tên",
        *(s.name for s in results.subjects),
        "Học tập HK I",
        "Học tập HK II",
        "Học tập cả năm",
        "Rèn luyện HK I",
        "Rèn luyện HK II",
        "Rèn luyện cả năm",
        "Số buổi nghỉ",
        "Lên lớp",
        "Kiểm tra lại",
        "Rèn luyện hè",
        "Danh hiệu",
    ]
    write_header(ws, 3, labels, [5, 14, 28, *([10] * len(results.subjects)), *([11] * 11), 20])
    for offset, s in enumerate(results.students):
        by_code = {r.code: r for r in s.subjects}
        values: list[object] = [offset + 1, s.national_id, s.full_name]
        for subject in results.subjects:
            r = by_code[subject.code]
            values.append(
                "Miễn"
                if r.status == "exempt"
                else "KĐG"
                if r.status == "not_assessed"
                else score_number(r.year)
            )
        values += [
            _LEVEL[s.learning_semester1],
            _LEVEL[s.learning_semester2],
            _LEVEL[s.learning_year],
            _LEVEL[s.conduct_semester1],
            _LEVEL[s.conduct_semester2],
            _LEVEL[s.conduct_year],
            s.absent_sessions,
            "" if s.promoted is None else "Được lên lớp" if s.promoted else "Không được lên lớp",
            ", ".join(s.reexam_subjects),
            "Có" if s.summer_training_required else "",
            s.title or "",
        ]
        for column, value in enumerate(values, start=1):
            cell = put(ws, 4 + offset, column, value)
            if 3 < column <= 3 + len(results.subjects) and isinstance(value, Decimal):
                cell.number_format = "0.0"  # a year average: "9,0", not "9"
    ws.freeze_panes = "D4"
    return save(book)


def subject_stats_xlsx(
    subject_name: str, period: str, per_class: list[SubjectStats], per_grade: list[SubjectStats]
) -> bytes:
    book, ws = new_book("Thống kê môn")
    period_name = {"HK1": "HỌC KỲ I", "HK2": "HỌC KỲ II", "year": "CẢ NĂM"}.get(period, period)
    write_title(ws, 1, f"THỐNG KÊ KẾT QUẢ MÔN {subject_name.upper()} – {period_name}")
    bands = list((per_class or per_grade)[0].distribution) if (per_class or per_grade) else []
    labels = ["Lớp / khối", "Sĩ số", "Đã đánh giá", "Miễn / KĐG", "Chưa đủ", "Điểm trung bình", *bands]
    write_header(ws, 3, labels, [18, 8, 12, 12, 10, 16, *([11] * len(bands))])
    row = 4
    for stats in [*per_class, *per_grade]:
        values = [
            stats.scope,
            stats.students,
            stats.assessed,
            stats.exempt,
            stats.pending,
            score_number(stats.average) or "",
            *(stats.distribution[b] for b in bands),
        ]
        for column, value in enumerate(values, start=1):
            cell = put(ws, row, column, value)
            if column == 6 and isinstance(value, Decimal):
                cell.number_format = "0.00"  # a class's mean, to two decimals
        row += 1
    return save(book)
