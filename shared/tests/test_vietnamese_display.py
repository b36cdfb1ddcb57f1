"""Vietnamese conventions: class-list order of names, decimal comma, Vietnam's time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hbs_shared.display import average_text, day_text, school_time_text, school_today, score_text
from hbs_shared.names import name_key, sorted_by_name, text_key


def _order(names: list[str]) -> list[str]:
    return sorted_by_name(names, lambda n: n)


def test_the_issue_examples_in_10a1_follow_the_vietnamese_alphabet() -> None:
    # Code points put Hiền, Hoa, Hoàng before Hằng (ằ is U+1EB1); in the alphabet ă comes after a.
    names = ["Lê Văn Hiền", "Trần Thị Hoa", "Phạm Minh Hoàng", "Nguyễn Thị Hằng"]
    assert _order(names) == ["Nguyễn Thị Hằng", "Lê Văn Hiền", "Trần Thị Hoa", "Phạm Minh Hoàng"]
    assert _order(["Bùi Khánh Ly", "Võ Đức Lâm"]) == ["Võ Đức Lâm", "Bùi Khánh Ly"]
    assert _order(["Lê Anh Thư", "Đỗ Phương Thảo"]) == ["Đỗ Phương Thảo", "Lê Anh Thư"]


def test_equal_given_names_go_by_family_then_middle_names_with_d_before_đ() -> None:
    # 10A2: Đỗ Hữu Anh comes before Phan Diệu Anh (Đ is a letter after D, long before P).
    names = ["Phan Diệu Anh", "Đỗ Hữu Anh", "Dương Văn Anh", "Đỗ Anh"]
    assert _order(names) == ["Dương Văn Anh", "Đỗ Anh", "Đỗ Hữu Anh", "Phan Diệu Anh"]
    assert text_key("Dung") < text_key("Đạt") < text_key("Em")


def test_tones_come_after_letters_and_case_does_not_split_a_name() -> None:
    assert _order(["Ánh", "Anh", "Ạnh", "Ảnh"]) == ["Anh", "Ảnh", "Ánh", "Ạnh"]
    assert _order(["Nguyễn Văn Bình", "nguyễn văn an"]) == ["nguyễn văn an", "Nguyễn Văn Bình"]
    # Decomposed input (from a Mac keyboard or a CSV) sorts as its composed twin.
    assert name_key("Nguyễn Thị Hằng") == name_key("Nguye\u0302\u0303n Thi\u0323 Ha\u0306\u0300ng")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("8.5"), "8,5"),
        (Decimal("10"), "10"),
        (Decimal("8.0"), "8"),
        ("7.25", "7,25"),
        ("8,5", "8,5"),
        (6.5, "6,5"),
        (9, "9"),
        (None, ""),
        ("", ""),
        ("Đ", "Đ"),
    ],
)
def test_a_score_is_shown_with_a_decimal_comma(value: object, shown: str) -> None:
    assert score_text(value) == shown  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("9.0", "9,0"),
        (9, "9,0"),
        ("8.5", "8,5"),
        (Decimal("7.25"), "7,25"),
        ("10", "10,0"),
        ("Đ", "Đ"),
        (None, ""),
    ],
)
def test_an_average_always_shows_one_decimal(value: object, shown: str) -> None:
    assert average_text(value) == shown  # type: ignore[arg-type]


def test_moments_are_shown_in_vietnam_time_dd_mm_yyyy_hh_mm() -> None:
    assert school_time_text("2026-12-06T21:11:05.123456+00:00") == "07/12/2026 04:11"
    assert school_time_text(datetime(2026, 12, 6, 21, 11, tzinfo=UTC)) == "07/12/2026 04:11"
    assert school_time_text(datetime(2026, 12, 6, 21, 11)) == "07/12/2026 04:11"  # stored without a zone: UTC
    assert school_time_text(None) == ""
    assert day_text("2026-12-07") == day_text(date(2026, 12, 7)) == "07/12/2026"


def test_school_today_is_vietnams_date_after_17_utc() -> None:
    # 18:00 UTC on 6/12 is 01:00 on 7/12 in Hưng Yên: a minutes dated 7/12 is not in the future.
    assert school_today(datetime(2026, 12, 6, 18, 0, tzinfo=UTC)) == date(2026, 12, 7)
    assert school_today(datetime(2026, 12, 6, 16, 59, tzinfo=UTC)) == date(2026, 12, 6)


def test_error_kind_names_the_fields_and_never_the_input() -> None:
    from pydantic import BaseModel, ValidationError

    from hbs_shared.logging import error_kind

    class Row(BaseModel):
        score: float

    with pytest.raises(ValidationError) as caught:
        Row.model_validate({"score": "Nguyễn Văn An"})
    kind = error_kind(caught.value)
    assert kind == "ValidationError (score:float_parsing)"
    assert "Nguyễn" in str(caught.value)  # pydantic quotes the input…
    assert "Nguyễn" not in kind  # …the log line does not
    assert error_kind(RuntimeError("Trần Thị Bình")) == "RuntimeError"
