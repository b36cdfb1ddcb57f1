"""The vocabulary of results: rating levels, Đạt / Chưa đạt, a subject's status for a student."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from hbs_shared.labels import RATING_LABELS


class Level(IntEnum):
    """A learning or conduct rating, ordered: comparisons mean "at least" (≥ Đạt …)."""

    chua_dat = 0
    dat = 1
    kha = 2
    tot = 3

    @property
    def code(self) -> str:
        """The code in national data: T / K / Đ / CĐ."""
        return _CODES[self]

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def from_code(cls, code: str) -> Level:
        for level, value in _CODES.items():
            if value == code:
                return level
        raise ValueError(f"unknown rating code {code!r} (expected T, K, Đ or CĐ)")


_CODES = {Level.tot: "T", Level.kha: "K", Level.dat: "Đ", Level.chua_dat: "CĐ"}
_LABELS = {level: RATING_LABELS[code] for level, code in _CODES.items()}


class PassMark(StrEnum):
    """The result of a comment-assessed assessment or subject."""

    dat = "Đ"
    chua_dat = "CĐ"


class Status(StrEnum):
    """Whether a subject counts for a student (exemptions and students with disabilities)."""

    assessed = "assessed"
    exempt = "exempt"
    """Miễn học (e.g. Giáo dục thể chất on medical grounds): not used in the rating."""
    not_assessed = "not_assessed"
    """Không đánh giá (a student with a disability, under the rules): not used in the rating."""
