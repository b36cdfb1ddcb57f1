"""Conduct (rèn luyện) and attendance of a class per semester, and at year end the summer conduct
training and re-examination results; only the homeroom teacher edits (Đ6), readers see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from hbs_portal.clients import BackendError
from hbs_portal.i18n import N_, _, translated
from hbs_portal.models import WebSession
from hbs_portal.web.common import error_page, templates
from hbs_portal.web.deps import Api, CheckedForm, Services, SignedIn
from hbs_portal.web.reports import RATINGS, bad_query, class_path
from hbs_portal.web.scores import local_time
from hbs_shared.labels import TERM_LABELS, YEAR_END_LABEL, YEAR_LABEL

router = APIRouter(include_in_schema=False)

SECTIONS = {**TERM_LABELS, "year-end": YEAR_END_LABEL}
TERM_KEYS = ("conduct", "conduct_comment", "absent_excused", "absent_unexcused")
LIMITS = {"conduct_comment": 2000}
"""Longest text a field may carry (others: 20); the grades service says what is valid."""
COLUMN_LABELS = {
    "conduct": N_("Rèn luyện"),
    "conduct_comment": N_("Nhận xét rèn luyện"),
    "absent_excused": N_("Nghỉ có phép"),
    "absent_unexcused": N_("Nghỉ không phép"),
    "summer_training": N_("Rèn luyện hè"),
    "reexam_choice": N_("Môn chọn kiểm tra lại"),
}
CHOICES = {
    "": N_("Chưa ghi lựa chọn"),
    "chosen": N_("Kiểm tra lại các môn đánh dấu"),
    "none": N_("Không kiểm tra lại môn nào"),
}
"""The student's choice at the re-examination (issue 11 §8): not recorded yet, the ticked
subjects, or none (then the year result stands)."""
WRONG_TERM = N_("Học kỳ: chỉ nhận HK1, HK2 hoặc cuối năm.")
PICK_ONE = N_("Đánh dấu ít nhất một môn, hoặc chọn “Không kiểm tra lại môn nào”.")


@dataclass
class ConductRow:
    """One student's line of the section shown: typed values and the service's complaints."""

    student_id: str
    full_name: str
    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    reexam_subjects: list[tuple[str, str]] = field(default_factory=list)
    """(code, name) of the subjects this student is sent to re-examination in (year end); the
    student chooses which to retake (typed["reexam_choice"], typed["retake.<code>"])."""
    summer_training: bool = False


async def _load(api: Services, class_name: str, section: str) -> dict[str, Any]:
    """The class's rows for the section, the change log, and whether this user may edit."""
    students = await api.grades.conduct(class_name)
    changes = await api.grades.conduct_changes(class_name)
    scope = await api.identity.scope()
    homeroom = any(c["class_name"] == class_name for c in scope["homeroom"])
    rows: list[ConductRow] = []
    if section == "year-end":
        results = await api.grades.class_results(class_name)
        names = {s["code"]: s["name"] for s in results["subjects"]}
        needs = {r["student_id"]: r for r in results["students"]}
        for student in students:
            need = needs.get(student["student_id"])
            if need is None or not (need["summer_training_required"] or need["reexam_required"]):
                continue
            row = ConductRow(student["student_id"], student["full_name"])
            row.summer_training = bool(need["summer_training_required"])
            row.typed["summer_training"] = student["summer_training"] or ""
            choice = student.get("reexam_choice")
            if need["reexam_required"]:
                row.typed["reexam_choice"] = "" if choice is None else ("chosen" if choice else "none")
            for code in need["reexam_subjects"]:
                row.reexam_subjects.append((code, names.get(code, code)))
                row.typed[f"retake.{code}"] = "1" if choice and code in choice else ""
                row.typed[f"reexam.{code}"] = str(student["reexam"].get(code) or "")
            rows.append(row)
    else:
        for student in students:
            term = student["terms"][section]
            row = ConductRow(student["student_id"], student["full_name"])
            row.typed = {
                "conduct": term["conduct"] or "",
                "conduct_comment": term["conduct_comment"],
                "absent_excused": str(term["absent_excused"]),
                "absent_unexcused": str(term["absent_unexcused"]),
            }
            rows.append(row)
    names_by_id = {s["student_id"]: s["full_name"] for s in students}
    log = [
        {
            **c,
            "full_name": names_by_id.get(c["student_id"], _("(đã rời lớp)")),
            "when": local_time(c["changed_at"]),
            "label": _label(c["column"]),
            "term_label": _(SECTIONS.get(c["term"] or "", YEAR_LABEL)),
        }
        for c in reversed(changes)
    ]
    return {"rows": rows, "changes": log[:300], "editable": homeroom}


def _label(column: str) -> str:
    if column.startswith("reexam."):
        return _("Kiểm tra lại {subject}").format(subject=column.removeprefix("reexam."))
    return _(COLUMN_LABELS[column]) if column in COLUMN_LABELS else column


def _render(
    request: Request,
    web: WebSession,
    class_name: str,
    section: str,
    data: dict[str, Any],
    *,
    notice: str | None = None,
    error: str | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
    unsaved: bool = False,
) -> Response:
    return templates.TemplateResponse(
        request,
        "grades/conduct.html",
        {
            "web": web,
            "class_name": class_name,
            "base": class_path(class_name),
            "section": section,
            "sections": translated(SECTIONS),
            "ratings": translated(RATINGS),
            "choices": translated(CHOICES),
            "notice": notice,
            "error": error,
            "problems": problems or [],
            "unsaved": unsaved,
            **data,
        },
        status_code=status_code,
    )


def _section(value: str) -> str | None:
    return value if value in SECTIONS else None


@router.get("/classes/{class_name}/conduct", response_model=None)
async def conduct_page(
    request: Request, web: SignedIn, api: Api, class_name: str, term: str = "HK1"
) -> Response:
    section = _section(term)
    if bad := bad_query(class_name) or (None if section else _(WRONG_TERM)):
        return error_page(request, web, bad, 422)
    assert section is not None
    data = await _load(api, class_name, section)
    notice = _("Đã lưu.") if request.query_params.get("notice") == "saved" else None
    return _render(request, web, class_name, section, data, notice=notice)


def _typed(form: FormData, rows: list[ConductRow], keys: tuple[str, ...] | None) -> bool:
    """Put the form's values into the rows; False if a value is too long to send."""
    by_id = {row.student_id: row for row in rows}
    ok = True
    for index, student_id in enumerate(form.getlist("sid")):
        row = by_id.get(str(student_id))
        if row is None:
            continue
        wanted = keys or tuple(row.typed)
        for key in wanted:
            value = form.get(f"c{index}_{key}")
            if key.startswith("retake."):
                value = "1" if value == "1" else ""  # an unticked box is not sent at all
            if not isinstance(value, str):
                continue
            if len(value) > LIMITS.get(key, 20):
                row.errors[key] = _("quá dài")
                ok = False
            row.typed[key] = value
    return ok


def _payload(rows: list[ConductRow], section: str) -> tuple[str, dict[str, Any]]:
    if section == "year-end":
        extras = []
        for row in rows:
            item: dict[str, Any] = {"student_id": row.student_id}
            if row.summer_training:
                item["summer_training"] = row.typed.get("summer_training", "")
            if row.reexam_subjects:
                item["reexam_choice"] = _choice(row)
                item["reexam"] = {
                    code: row.typed.get(f"reexam.{code}", "") for code, _ in row.reexam_subjects
                }
            extras.append(item)
        return "year-end", {"rows": extras}
    terms = [
        {"student_id": row.student_id, "term": section, **{k: row.typed[k] for k in TERM_KEYS}}
        for row in rows
    ]
    return "conduct", {"rows": terms}


def _choice(row: ConductRow) -> list[str] | None:
    """The subjects the student retakes, [] for none, None while not recorded."""
    kind = row.typed.get("reexam_choice", "")
    if kind == "none":
        return []
    if kind == "chosen":
        return [code for code, _ in row.reexam_subjects if row.typed.get(f"retake.{code}") == "1"]
    return None


def _unpicked(rows: list[ConductRow]) -> bool:
    """Marks the rows that say "retakes the ticked subjects" with none ticked; True if any."""
    found = False
    for row in rows:
        if row.reexam_subjects and row.typed.get("reexam_choice") == "chosen" and not _choice(row):
            row.errors["reexam_choice"] = _(PICK_ONE)
            found = True
    return found


@router.post("/classes/{class_name}/conduct", response_model=None)
async def save_conduct(
    request: Request, web: SignedIn, api: Api, form: CheckedForm, class_name: str
) -> Response:
    section = _section(str(form.get("section", "")))
    if bad := bad_query(class_name) or (None if section else _(WRONG_TERM)):
        return error_page(request, web, bad, 422)
    assert section is not None
    data = await _load(api, class_name, section)
    rows: list[ConductRow] = data["rows"]
    if not _typed(form, rows, None if section == "year-end" else TERM_KEYS):
        error = _("Có ô quá dài (nhận xét tối đa 2000 ký tự), chưa lưu gì.")
        return _render(request, web, class_name, section, data, error=error, status_code=422, unsaved=True)
    if "fill" in form and section != "year-end":
        return _fill(request, web, class_name, section, data, str(form.get("fill_conduct", "")))
    if section == "year-end" and _unpicked(rows):
        error = _("Có học sinh chọn kiểm tra lại nhưng chưa đánh dấu môn nào, chưa lưu gì.")
        return _render(request, web, class_name, section, data, error=error, status_code=422, unsaved=True)
    path, body = _payload(rows, section)
    try:
        await api.grades.save_class_part(class_name, path, body)
    except BackendError as failed:
        problems = _problems(rows, failed.problem)
        return _render(
            request,
            web,
            class_name,
            section,
            data,
            error=f"{failed.title}.",
            problems=problems,
            status_code=failed.status,
            unsaved=True,
        )
    return RedirectResponse(f"{class_path(class_name)}/conduct?term={section}&notice=saved", status_code=303)


def _fill(
    request: Request, web: WebSession, class_name: str, section: str, data: dict[str, Any], value: str
) -> Response:
    """One conduct value for the whole class, not saved yet: the teacher changes the exceptions,
    then saves (the other columns keep what was typed)."""
    if value not in RATINGS:
        error = _("Rèn luyện cho cả lớp: hãy chọn một mức (T, K, Đ hoặc CĐ).")
        return _render(request, web, class_name, section, data, error=error, status_code=422, unsaved=True)
    for row in data["rows"]:
        row.typed["conduct"] = value
    notice = _(
        "Đã điền “{code} – {rating}” cho cả lớp (chưa lưu). Sửa các trường hợp khác rồi bấm “Lưu”."
    ).format(code=value, rating=_(RATINGS[value]))
    return _render(request, web, class_name, section, data, notice=notice, unsaved=True)


def _problems(rows: list[ConductRow], problem: dict[str, Any]) -> list[str]:
    by_id = {row.student_id: row for row in rows}
    lines = []
    for error in problem.get("errors", []):
        column, message = str(error.get("column", "")), str(error.get("message", ""))
        row = by_id.get(str(error.get("student_id")))
        if row is not None:
            row.errors[column] = message
        lines.append(f"{error.get('full_name') or _('Học sinh')}, {_label(column)}: {message}")
    return lines
