"""Classes and reports: the class list, the class result sheet (bảng tổng hợp) and subject
statistics per class and grade level, each with its .xlsx from the grades service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.charts import (
    RATING_SEGMENTS,
    rating_rows,
    ratings_per_class,
    score_rows,
    score_segments,
)
from hbs_portal.web.common import error_page, templates
from hbs_portal.web.deps import Api, Services, SignedIn
from hbs_shared.curriculum import SUBJECTS
from hbs_shared.display import average_text
from hbs_shared.labels import PERIOD_LABELS, RATING_LABELS
from hbs_shared.roles import OVERSEERS as ROLE_OVERSEERS

router = APIRouter(include_in_schema=False)

OVERSEERS: frozenset[str] = ROLE_OVERSEERS
Period = Literal["HK1", "HK2", "year"]
RATINGS = RATING_LABELS
PERIODS = translated(PERIOD_LABELS)
# The titles grades sends with a student's year (hbs_shared.records), shown by the `label` filter.
TITLES = (N_("Học sinh Xuất sắc"), N_("Học sinh Giỏi"))


@dataclass
class ClassLine:
    """A class as the class list shows it to this user."""

    name: str
    grade_level: int
    homeroom: bool = False
    homeroom_teacher: str | None = None
    subjects: list[str] = field(default_factory=list)


def bad_query(class_name: str | None = None, period: str = "year", subject: str = "TOAN") -> str | None:
    """The Vietnamese message for a class, period or subject the page cannot name, else None."""
    if class_name is not None and not 1 <= len(class_name.strip()) <= 40:
        return _("Lớp: không hợp lệ.")
    if period not in PERIOD_LABELS:
        return _("Kỳ: chỉ nhận Học kỳ I, Học kỳ II hoặc Cả năm.")
    if subject not in {s.code for s in SUBJECTS}:
        return _("Môn học: không có môn này.")
    return None


def class_path(class_name: str) -> str:
    """A class's page path: class names carry spaces and Vietnamese letters ("11 Toán chuyên")."""
    return "/classes/" + quote(class_name, safe="")


async def classes_for(api: Services, web: WebSession) -> list[ClassLine]:
    """Overseers see every class of the school; a teacher the classes they teach or lead."""
    if OVERSEERS & set(web.roles):
        return [
            ClassLine(c["name"], c["grade_level"], homeroom_teacher=c.get("homeroom_teacher_name"))
            for c in await api.identity.classes()
        ]
    scope = await api.identity.scope()
    lines: dict[str, ClassLine] = {}
    for led in scope["homeroom"]:
        lines.setdefault(led["class_name"], ClassLine(led["class_name"], led["grade_level"])).homeroom = True
    for taught in scope["teaching"]:
        line = lines.setdefault(taught["class_name"], ClassLine(taught["class_name"], taught["grade_level"]))
        line.subjects.append(_subject_name(taught["subject_code"]))
    return sorted(lines.values(), key=lambda c: (c.grade_level, c.name))


def _subject_name(code: str) -> str:
    return next((s.name for s in SUBJECTS if s.code == code), code)


@router.get("/classes", response_model=None)
async def classes_page(request: Request, web: SignedIn, api: Api) -> Response:
    classes = await classes_for(api, web)
    return templates.TemplateResponse(
        request,
        "grades/classes.html",
        {"web": web, "classes": classes, "class_path": class_path, "board": bool(OVERSEERS & set(web.roles))},
    )


def _pick(values: dict[str, Any], period: Period, prefix: str) -> str | None:
    key = {"HK1": f"{prefix}_semester1", "HK2": f"{prefix}_semester2", "year": f"{prefix}_year"}[period]
    value = values.get(key)
    return None if value is None else str(value)


def result_rows(results: dict[str, Any], period: Period) -> list[dict[str, Any]]:
    """Each student's line of the bảng tổng hợp for one period."""
    column = {"HK1": "semester1", "HK2": "semester2", "year": "year"}[period]
    rows = []
    for student in results["students"]:
        by_code = {s["code"]: s for s in student["subjects"]}
        subjects = []
        for subject in results["subjects"]:
            found = by_code.get(subject["code"])
            if found is None:
                subjects.append("")
            elif found["status"] != "assessed":
                subjects.append(_("Miễn") if found["status"] == "exempt" else _("KĐG"))
            else:
                value = average_text(found[column])
                if period == "year" and found.get("after_reexam"):
                    value = f"{value} → {average_text(found['after_reexam'])}"
                subjects.append(value)
        promoted = student["promoted"]
        rows.append(
            {
                "full_name": student["full_name"],
                "subjects": subjects,
                "learning": _pick(student, period, "learning"),
                "conduct": _pick(student, period, "conduct"),
                "absent": student["absent_sessions"],
                "promoted": ""
                if period != "year"
                else _("Chưa đủ")
                if promoted is None
                else _("Có")
                if promoted
                else _("Không"),
                "reasons": student["not_promoted_reasons"],
                "title": student["title"] if period == "year" else None,
            }
        )
    return rows


@router.get("/classes/{class_name}/results", response_model=None)
async def results_page(
    request: Request, web: SignedIn, api: Api, class_name: str, period: str = "year"
) -> Response:
    if bad := bad_query(class_name, period):
        return error_page(request, web, bad, 422)
    results = await api.grades.class_results(class_name)
    rows = result_rows(results, cast(Period, period))
    return templates.TemplateResponse(
        request,
        "grades/results.html",
        {
            "web": web,
            "results": results,
            "rows": rows,
            "ratings_chart": rating_rows(rows),
            "rating_segments": RATING_SEGMENTS,
            "period": period,
            "periods": PERIODS,
            "ratings": translated(RATINGS),
            "base": class_path(class_name),
        },
    )


def _download(answer_content: bytes, headers: dict[str, str]) -> Response:
    return Response(
        answer_content,
        media_type=headers.get("content-type", "application/octet-stream"),
        headers={
            "content-disposition": headers.get("content-disposition", "attachment"),
            "cache-control": "private, no-store",
        },
    )


@router.get("/classes/{class_name}/results.xlsx", response_model=None)
async def results_xlsx(request: Request, web: SignedIn, api: Api, class_name: str) -> Response:
    if bad := bad_query(class_name):
        return error_page(request, web, bad, 422)
    answer = await api.grades.class_results_xlsx(class_name)
    return _download(answer.content, dict(answer.headers))


@router.get("/statistics", response_model=None)
async def statistics_page(
    request: Request, web: SignedIn, api: Api, subject: str = "TOAN", period: str = "year"
) -> Response:
    if bad := bad_query(period=period, subject=subject):
        return error_page(request, web, bad, 422)
    stats = await api.grades.subject_results(subject, period)
    return templates.TemplateResponse(
        request,
        "grades/statistics.html",
        {
            "web": web,
            "stats": stats,
            "charts": [score_rows(stats["classes"]), score_rows(stats["grades"])],
            "segments": score_segments(stats),
            "subjects": SUBJECTS,
            "subject": subject,
            "period": period,
            "periods": PERIODS,
        },
    )


@router.get("/statistics/ratings", response_model=None)
async def ratings_page(request: Request, web: SignedIn, api: Api, period: str = "year") -> Response:
    """Xếp loại theo lớp: every class's learning and conduct ratings (grades: board and office)."""
    if bad := bad_query(period=period):
        return error_page(request, web, bad, 422)
    found = await api.grades.class_ratings(period)
    classes = found["classes"]
    return templates.TemplateResponse(
        request,
        "grades/ratings.html",
        {
            "web": web,
            "classes": classes,
            "learning": ratings_per_class(classes, "learning"),
            "conduct": ratings_per_class(classes, "conduct"),
            "segments": RATING_SEGMENTS,
            "period": period,
            "periods": PERIODS,
        },
    )


@router.get("/statistics.xlsx", response_model=None)
async def statistics_xlsx(
    request: Request, web: SignedIn, api: Api, subject: str = "TOAN", period: str = "year"
) -> Response:
    if bad := bad_query(period=period, subject=subject):
        return error_page(request, web, bad, 422)
    answer = await api.grades.subject_results_xlsx(subject, period)
    return _download(answer.content, dict(answer.headers))
