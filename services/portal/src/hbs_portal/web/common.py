"""What every page of the portal shares: templates, the signed-in session, errors, navigation."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hbs_portal.clients import BackendError
from hbs_portal.i18n import LANGUAGES, N_, _, current_language, ngettext
from hbs_portal.models import WebSession
from hbs_portal.web.filenames import content_disposition
from hbs_portal.web.sessions import COOKIE, WebSessionRepository
from hbs_shared.display import average_text, day_text, school_time_text, score_text
from hbs_shared.roles import BOARD, FAMILY, OFFICE, OVERSEERS, PROVINCE, SIGNERS, STAFF, Role
from hbs_shared.service import runtime_of

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
# {% trans %} and _() in every template, in the request's language (hbs_portal.i18n).
templates.env.add_extension("jinja2.ext.i18n")
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.install_gettext_callables(_, ngettext, newstyle=True)  # type: ignore[attr-defined]
templates.env.globals.update(current_language=current_language, LANGUAGES=LANGUAGES)
SCHOOL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
web_sessions = WebSessionRepository()
STALE_FORM = N_("Biểu mẫu đã cũ, xin tải lại trang rồi thử lại.")


async def current_session(request: Request) -> WebSession | None:
    async with runtime_of(request).db.transaction() as session:
        return await web_sessions.find(session, request.cookies.get(COOKIE))


# A session in one of these steps is kept on its page until the step is done.
PENDING_PAGES = {"password": "/password", "totp": "/login/totp", "totp_setup": "/totp/setup"}


def to_login(message: str | None = None) -> RedirectResponse:
    response = RedirectResponse("/login" + ("?expired=1" if message else ""), status_code=303)
    response.delete_cookie(COOKIE)
    return response


def explain(error: BackendError) -> str:
    left = error.problem.get("attempts_left")
    if error.problem.get("code") == "wrong_pin" and left is not None:
        return _("{title} (còn {left} lần thử trước khi bị khoá).").format(title=error.title, left=left)
    if error.problem.get("code") == "no_pin":
        return _("{title}: hãy đặt mã PIN ký số trước.").format(title=error.title)
    return error.title


def where_to_go(web: WebSession | None) -> list[tuple[str, str]]:
    """Links out of an error: the user's first page, or sign-in and public verification."""
    if web is None:
        return [("/login", _("Đăng nhập")), ("/verify", _("Xác thực học bạ số"))]
    if set(web.roles) & FAMILY and not set(web.roles) & STAFF:
        return [("/results", _("Về kết quả học tập"))]
    return [(home_for(web.roles), _("Về trang chính của bạn"))]


def error_page(request: Request, web: WebSession | None, message: str, status: int) -> Response:
    """The Vietnamese error page; a family's leads back to their results, staff's to their first page."""
    family = web is not None and bool(set(web.roles) & FAMILY) and not set(web.roles) & STAFF
    name = "family/error.html" if family else "error.html"
    context = {"web": web, "error": message, "links": where_to_go(web), "status": status}
    return templates.TemplateResponse(request, name, context, status_code=status)


def home_for(roles: list[str]) -> str:
    """The first page of the user's menu: a teacher lands on sheets, a parent on their children."""
    return nav_for(roles)[0][0]


# The menu: (path, label translated where shown, roles that see it); None means every signed-in
# user. First match is home.
NAV: list[tuple[str, str, frozenset[str] | None]] = [
    ("/progress", N_("Tiến độ"), BOARD),
    ("/sheets", N_("Sổ điểm"), SIGNERS),
    ("/signing-pin", N_("Mã PIN ký số"), SIGNERS),
    ("/reminders", N_("Lời nhắc"), SIGNERS),
    ("/records/homeroom", N_("Học bạ lớp"), frozenset({Role.homeroom_teacher})),
    ("/records/review", N_("Duyệt học bạ"), frozenset({Role.vice_principal})),
    ("/records/approve", N_("Phê duyệt học bạ"), frozenset({Role.principal})),
    ("/admin/students", N_("Học sinh"), OFFICE),
    ("/change-requests", N_("Yêu cầu sửa thông tin"), OFFICE),
    ("/classes", N_("Các lớp"), SIGNERS | OFFICE),
    ("/statistics", N_("Thống kê"), BOARD),
    ("/factor-resets", N_("Phê duyệt đặt lại"), BOARD),
    ("/oversight/windows", N_("Thời hạn"), BOARD),
    ("/oversight/compliance", N_("Chấp hành thời hạn"), BOARD),
    ("/admin/classes", N_("Quản lý lớp"), OFFICE),
    ("/admin/accounts", N_("Cán bộ, tài khoản"), OFFICE),
    ("/admin/import", N_("Nhập dữ liệu"), OFFICE),
    ("/admin/export", N_("Xuất dữ liệu"), OFFICE),
    ("/admin/national", N_("Dữ liệu CSDL ngành"), OFFICE),
    ("/admin/exchange", N_("Hồ sơ chuyển trường"), OFFICE),
    ("/admin/audit", N_("Nhật ký"), OVERSEERS),
    ("/admin/signing", N_("Ký số"), frozenset({Role.system_admin})),
    ("/admin/outside-systems", N_("Hệ thống bên ngoài"), OFFICE),
    ("/security", N_("Bảo mật đăng nhập"), STAFF),
    # Identity gives parents the role `parent` and students `student` (people/service.py).
    ("/results", N_("Kết quả học tập"), FAMILY),
    # The province's people (Sở GD&ĐT) belong to no school: these are their only pages.
    ("/province", N_("Tiến độ các trường"), PROVINCE),
    ("/province/schools", N_("Các trường"), frozenset({Role.province_admin})),
    ("/password", N_("Đổi mật khẩu"), None),
]


def nav_for(roles: list[str]) -> list[tuple[str, str]]:
    return [(path, label) for path, label, who in NAV if who is None or who & set(roles)]


def is_province(roles: list[str]) -> bool:
    """Sở GD&ĐT's people: their token's school is the province's scope, which no school has."""
    return bool(PROVINCE & set(roles))


PROVINCE_PAGES = ("/province", "/security", "/security-notices", "/totp")
"""What a province account may open beside sign-in and the password: its pages and its own
account's security; every school page would only find nothing of theirs."""


def province_may_open(path: str) -> bool:
    return any(path == page or path.startswith(page + "/") for page in PROVINCE_PAGES)


templates.env.globals["nav_for"] = nav_for


def banner(request: Request) -> list[dict[str, Any]]:
    """A staff member's unread reminders, loaded once per page view by `deps.fresh_session`."""
    found: list[dict[str, Any]] = getattr(request.state, "banner", [])
    return found


templates.env.globals["banner"] = banner


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A signed PDF shown in the browser, never kept by a shared cache."""
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(filename, "inline"),
            "Cache-Control": "private, no-store",
        },
    )


# Filters of the layout (its reminder banner) and the oversight pages: registered with the
# templates, so every page that renders the layout has them.
def school_time(moment: str | None) -> str:
    """An ISO moment from a service, in Vietnam's time, dd/mm/yyyy HH:mm (the shared formatter)."""
    return school_time_text(moment)


def deadline(moment: str | None) -> str:
    """A window's end: it closes after its closing day (00:00 of the next), "hết ngày 02/12/2026"."""
    if not moment:
        return ""
    local = datetime.fromisoformat(moment).astimezone(SCHOOL_TIME)
    if (local.hour, local.minute) == (0, 0):
        return _("hết ngày {day}").format(day=f"{(local - timedelta(days=1)):%d/%m/%Y}")
    return f"{local:%d/%m/%Y %H:%M}"


def lateness(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours = rest // 3600
    if days:
        return (
            _("{days} ngày {hours} giờ").format(days=days, hours=hours)
            if hours
            else _("{days} ngày").format(days=days)
        )
    return _("{hours} giờ").format(hours=hours) if hours else _("dưới 1 giờ")


def count(value: int | None) -> str:
    """A count as a Vietnamese page writes it, thousands by a dot: 1473 → "1.473"."""
    return f"{value or 0:,}".replace(",", ".")


def percent(part: int, whole: int) -> str:
    """part of whole in per cent, one decimal rounded half up, decimal comma: "87,5%"; "—" of nothing."""
    if not whole:
        return "—"
    share = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{share:f}".replace(".", ",") + "%"


def label(text: str | None) -> str:
    """A label a service sends with its codes (a semester, a state, a step), in the reader's language."""
    return _(text) if text else ""


templates.env.filters["label"] = label
templates.env.filters["school_time"] = school_time
templates.env.filters["score"] = score_text
templates.env.filters["average"] = average_text  # "9,0", not "9"
templates.env.filters["dmy"] = day_text
templates.env.filters["lateness"] = lateness
templates.env.filters["deadline"] = deadline
templates.env.filters["count"] = count
templates.env.globals["percent"] = percent
templates.env.globals["is_province"] = is_province
