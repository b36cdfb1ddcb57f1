"""What the server-drawn stacked bar charts show (templates/progress/chart.html, `stacked`): score
distributions per class and subject, and learning and conduct ratings (T/K/Đ/CĐ) of a class.
Built from the same answers the page's tables show, so a chart never says more than its table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hbs_portal.i18n import N_, _
from hbs_shared.labels import RATING_LABELS

PENDING = "pending"


@dataclass(frozen=True)
class Segment:
    """One part of every bar: its key in the counts, its name in the legend, its CSS class."""

    key: str
    text: str
    css: str

    @property
    def name(self) -> str:
        """The legend's name in the reader's language (a score band such as "6,5–<8,0" as it is)."""
        return _(self.text)


@dataclass
class ChartRow:
    """One bar: a class (score bands) or a kind of rating (học tập, rèn luyện)."""

    label: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


RATING_SEGMENTS: tuple[Segment, ...] = (
    *(Segment(code, name, f"seg-rating-{i}") for i, (code, name) in enumerate(RATING_LABELS.items())),
    Segment(PENDING, N_("Chưa đủ dữ liệu"), "seg-pending"),
)
"""Tốt, Khá, Đạt, Chưa đạt (Thông tư 22), then the students without a rating yet."""
PASS_SEGMENTS: tuple[Segment, ...] = (
    Segment("Đ", N_("Đạt"), "seg-rating-0"),
    Segment("CĐ", N_("Chưa đạt"), "seg-rating-3"),
    Segment(PENDING, N_("Chưa đủ điểm"), "seg-pending"),
)


def band_name(band: str) -> str:
    """A score band as the school writes it: decimal comma ("6,5–<8,0")."""
    return band.replace(".", ",")


def score_segments(stats: dict[str, Any]) -> tuple[Segment, ...]:
    """The bands grades counted (lowest first, red to green), or Đ / CĐ for a comment subject."""
    if stats["assessment"] == "comment":
        return PASS_SEGMENTS
    items = stats["classes"] or stats["grades"]
    bands = list(items[0]["distribution"]) if items else []
    return (
        *(Segment(b, band_name(b), f"seg-band-{i}") for i, b in enumerate(bands)),
        Segment(PENDING, N_("Chưa đủ điểm"), "seg-pending"),
    )


def score_rows(items: Iterable[dict[str, Any]]) -> list[ChartRow]:
    """Per class (or grade level): how many students' results fall in each band, and how many
    are still pending; exempt students (Miễn) are not in the bars (the table counts them)."""
    return [ChartRow(item["scope"], {**item["distribution"], PENDING: item["pending"]}) for item in items]


def rating_rows(rows: Iterable[dict[str, Any]]) -> list[ChartRow]:
    """The class's learning and conduct ratings for the period of `rows` (reports.result_rows)."""
    learning = ChartRow(_("Học tập"), {s.key: 0 for s in RATING_SEGMENTS})
    conduct = ChartRow(_("Rèn luyện"), {s.key: 0 for s in RATING_SEGMENTS})
    for row in rows:
        for chart, value in ((learning, row["learning"]), (conduct, row["conduct"])):
            key = value if value in RATING_LABELS else PENDING
            chart.counts[key] += 1
    return [learning, conduct]


def ratings_per_class(classes: Iterable[dict[str, Any]], kind: str) -> list[ChartRow]:
    """One bar per class: its learning (`kind` "learning") or conduct ratings, from grades'
    /results/ratings."""
    return [ChartRow(c["class_name"], dict(c[kind])) for c in classes]
