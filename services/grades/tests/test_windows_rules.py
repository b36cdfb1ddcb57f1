"""Đ5 time windows and Đ10 lateness, pure: the closing day counts whole in Vietnam's time, an
extension moves the closing day for one teacher or class only, lateness counts from the school's
day, and the compliance rows add up."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hbs_grades.compliance.report import Item, compile_rows, hours, spoken
from hbs_grades.windows.mine import deadline_of
from hbs_grades.windows.rules import (
    SCHOOL_TZ,
    Extension,
    deadline,
    effective,
    lateness,
    valid_pair,
)

YEAR = "2026-2027"


def test_the_closing_day_counts_until_midnight_in_vietnam() -> None:
    closes = date(2026, 12, 20)
    # 23:59 in Hà Nội on the closing day is 16:59 UTC: still on time.
    assert lateness(closes, datetime(2026, 12, 20, 16, 59, tzinfo=UTC), datetime.now(UTC)) == timedelta(0)
    # 00:30 the next day in Hà Nội (17:30 UTC on the 20th) is half an hour late.
    assert lateness(closes, datetime(2026, 12, 20, 17, 30, tzinfo=UTC), datetime.now(UTC)) == timedelta(
        minutes=30
    )
    assert deadline(closes) == datetime(2026, 12, 21, tzinfo=SCHOOL_TZ)
    # Still open: late until now.
    now = datetime(2026, 12, 23, 0, 0, tzinfo=SCHOOL_TZ)
    assert lateness(closes, None, now) == timedelta(days=2)


def test_window_state_and_the_label_that_names_it() -> None:
    window = effective(YEAR, "HK1", 1, date(2026, 9, 5), date(2026, 12, 20), [])
    assert window.label == "Hạn ký sổ điểm Học kỳ I: 05/09/2026 – 20/12/2026"
    assert window.state_at(datetime(2026, 9, 4, 23, 0, tzinfo=SCHOOL_TZ)) == "not_open"
    assert window.state_at(datetime(2026, 9, 5, 0, 0, tzinfo=SCHOOL_TZ)) == "open"
    assert window.state_at(datetime(2026, 12, 20, 23, 59, tzinfo=SCHOOL_TZ)) == "open"
    assert window.state_at(datetime(2026, 12, 21, 0, 0, tzinfo=SCHOOL_TZ)) == "closed"
    problem = window.refusal("sheet_id", datetime(2026, 12, 22, tzinfo=SCHOOL_TZ))
    assert problem.status == 409
    assert problem.title == "Hạn ký sổ điểm Học kỳ I: 05/09/2026 – 20/12/2026 đã đóng"
    assert problem.field == "sheet_id"
    early = window.refusal("sheet_id", datetime(2026, 9, 1, tzinfo=SCHOOL_TZ))
    assert early.title.endswith("chưa mở")
    records = effective(YEAR, "year", 2, date(2027, 5, 1), date(2027, 5, 31), [])
    assert records.label == "Hạn GVCN ký học bạ năm học 2026-2027: 01/05/2027 – 31/05/2027"


def test_an_extension_applies_to_its_teacher_or_class_only_and_lateness_still_counts() -> None:
    teacher, other = uuid.uuid4(), uuid.uuid4()
    extensions = [
        Extension(date(2026, 12, 27), teacher, None, "ốm"),
        Extension(date(2026, 12, 24), None, "10A1", "lớp thi"),
    ]
    base = (YEAR, "HK1", 1, date(2026, 9, 5), date(2026, 12, 20))
    mine = effective(*base, extensions, teacher_id=teacher, class_name="10A1")
    assert mine.closes_on == date(2026, 12, 27)  # the latest of the two that apply
    assert mine.base_closes_on == date(2026, 12, 20)
    assert mine.label.endswith("gia hạn đến 27/12/2026")
    assert mine.state_at(datetime(2026, 12, 26, tzinfo=SCHOOL_TZ)) == "open"
    assert mine.lateness(datetime(2026, 12, 26, tzinfo=SCHOOL_TZ), datetime.now(UTC)) == timedelta(days=5)
    theirs = effective(*base, extensions, teacher_id=other, class_name="10A2")
    assert theirs.extension is None
    assert theirs.state_at(datetime(2026, 12, 22, tzinfo=SCHOOL_TZ)) == "closed"
    by_class = effective(*base, extensions, teacher_id=other, class_name="10A1")
    assert by_class.closes_on == date(2026, 12, 24)


def test_sheets_have_semester_windows_and_records_a_year_window() -> None:
    assert valid_pair("HK1", 0)
    assert valid_pair("HK2", 1)
    assert valid_pair("year", 4)
    assert not valid_pair("year", 1)
    assert not valid_pair("HK1", 2)
    assert not valid_pair("HK1", 5)


def test_compliance_rows_count_on_time_late_open_and_returns() -> None:
    teacher = uuid.uuid4()
    window = effective(YEAR, "HK1", 1, date(2026, 9, 5), date(2026, 12, 20), [])
    now = datetime(2026, 12, 25, tzinfo=SCHOOL_TZ)
    items = [
        Item(teacher, "Trần Văn An", 1, "HK1", window, datetime(2026, 12, 19, tzinfo=SCHOOL_TZ)),
        Item(teacher, "Trần Văn An", 1, "HK1", window, datetime(2026, 12, 22, 6, tzinfo=SCHOOL_TZ)),
        Item(teacher, "Trần Văn An", 1, "HK1", window, None),
        Item(teacher, "Trần Văn An", 1, "HK1", None, None),
    ]
    key = (teacher, "Trần Văn An", 1, "HK1")
    rows = compile_rows(items, [], [key, key], now)
    assert len(rows) == 1
    row = rows[0]
    assert (row.items, row.on_time, row.late, row.open_late, row.pending) == (4, 1, 1, 1, 1)
    assert row.corrections == 2
    assert row.late_max == timedelta(days=4)  # still open since the 21st
    assert row.late_total == timedelta(days=5, hours=6)
    assert hours(row.late_average) == 63.0
    assert spoken(row.late_max) == "4 ngày"
    assert spoken(timedelta(days=1, hours=5, minutes=20)) == "1 ngày 5 giờ"


def test_days_left_and_past_are_counted_in_vietnams_calendar() -> None:
    window = effective(YEAR, "HK1", 1, date(2026, 9, 5), date(2026, 12, 20), [])
    # 23:30 UTC on 19/12 is already 06:30 on 20/12 in Vietnam: the closing day itself.
    assert deadline_of(window, None, datetime(2026, 12, 19, 23, 30, tzinfo=UTC)).text == "hết hạn hôm nay"
    assert deadline_of(window, None, datetime(2026, 12, 19, 16, 59, tzinfo=UTC)).text == "còn 1 ngày"
    assert deadline_of(window, None, datetime(2026, 12, 22, 17, 0, tzinfo=UTC)).text == "đã quá hạn 3 ngày"
    assert deadline_of(window, None, datetime(2026, 9, 1, 3, 0, tzinfo=UTC)).text == "mở từ 05/09/2026"
