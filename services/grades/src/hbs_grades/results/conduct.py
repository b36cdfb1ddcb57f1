"""Year conduct (rèn luyện) from the two semesters' ratings (TT22 Điều 8 khoản 2)."""

from __future__ import annotations

from hbs_grades.results.types import Level

T, K, D, CD = Level.tot, Level.kha, Level.dat, Level.chua_dat


def year_conduct(semester1: Level, semester2: Level) -> Level:
    """Exactly the table of DOMAIN.md §2, semester II first."""
    one, two = semester1, semester2
    if two is T and one in (T, K):
        return T
    if (two is K and one >= D) or (two is D and one is T) or (two is T and one in (D, CD)):
        return K
    if (two is D and one in (K, D, CD)) or (two is K and one is CD):
        return D
    return CD
