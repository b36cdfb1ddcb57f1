"""Error pages: a wrong address, a malformed id, a refused page or a fault shows a Vietnamese page
that says what happened and where to go, instead of JSON. A client that asks for JSON
(`Accept: application/json` or `application/problem+json`) still gets the problem document."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hbs_portal.i18n import N_, _, cookie_language, use_language
from hbs_portal.models import WebSession
from hbs_portal.web.common import current_session, templates, where_to_go
from hbs_portal.web.protection import CONTENT_SECURITY_POLICY, SECURITY_HEADERS
from hbs_shared.logging import get_logger
from hbs_shared.problems import Problem, problem_response

log = get_logger(__name__)

# status → (heading, what happened), translated where shown; the page adds where to go.
PAGES: dict[int, tuple[str, str]] = {
    400: (N_("Yêu cầu không hợp lệ"), N_("Trình duyệt đã gửi một yêu cầu mà hệ thống không hiểu.")),
    403: (N_("Không có quyền truy cập"), N_("Tài khoản của bạn không được xem hoặc thực hiện việc này.")),
    404: (
        N_("Không tìm thấy trang"),
        N_("Không có trang nào ở địa chỉ này: đường dẫn có thể đã cũ, gõ sai, hoặc mục này đã bị xoá."),
    ),
    405: (N_("Không thực hiện được"), N_("Trang này không nhận thao tác vừa gửi. Hãy mở lại trang từ menu.")),
    422: (
        N_("Đường dẫn không hợp lệ"),
        N_(
            "Mã trong đường dẫn (mã sổ điểm, học sinh, tài liệu…) không đúng định dạng: "
            "có thể đường dẫn bị cắt ngắn khi sao chép."
        ),
    ),
    500: (
        N_("Hệ thống gặp lỗi"),
        N_(
            "Đã có lỗi ngoài dự kiến; dữ liệu bạn đã lưu trước đó không bị ảnh hưởng. "
            "Hãy thử lại sau ít phút; nếu vẫn lỗi, báo cho bộ phận quản trị của trường."
        ),
    ),
}
FORM_INVALID = (
    N_("Dữ liệu không hợp lệ"),
    N_("Dữ liệu gửi lên không đúng định dạng. Hãy mở lại trang và thử lại."),
)


def wants_json(request: Request) -> bool:
    """An API client that asked for JSON; browsers ask for text/html."""
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


async def _signed_in(request: Request) -> WebSession | None:
    web = getattr(request.state, "web", None)
    if isinstance(web, WebSession):
        return web
    try:  # a wrong address never reached the page's dependencies: find the session by its cookie
        found = await current_session(request)
    except Exception:  # the error page must not fail in turn
        return None
    return found if found is not None and not found.pending_step else None


async def error_response(
    request: Request, status: int, heading: str, message: str, problem: Problem
) -> Response:
    if wants_json(request):
        return problem_response(problem, request)
    # A fault is answered outside the middleware: the reader's language is read here again.
    use_language(cookie_language(request.headers.get("cookie", "")))
    web = None if status >= 500 else await _signed_in(request)
    context = {"web": web, "heading": _(heading), "error": _(message), "links": where_to_go(web)}
    return templates.TemplateResponse(
        request,
        "error.html",
        {**context, "status": status},
        status_code=status,
    )


def install_error_pages(app: FastAPI) -> None:
    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        heading, message = PAGES.get(exc.status_code, PAGES[400])
        problem = Problem(exc.status_code, heading, str(exc.detail))
        return await error_response(request, exc.status_code, heading, message, problem)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        in_path = any(item["loc"] and item["loc"][0] == "path" for item in exc.errors())
        heading, message = PAGES[422] if in_path else FORM_INVALID
        problem = Problem(422, heading, "; ".join(str(item["msg"]) for item in exc.errors()))
        return await error_response(request, 422, heading, message, problem)

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        heading = PAGES.get(exc.status, PAGES[400])[0]
        return await error_response(request, exc.status, heading, exc.title, exc)

    async def on_fault(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", path=request.url.path, error=type(exc).__name__)
        heading, message = PAGES[500]
        response = await error_response(
            request, 500, heading, message, Problem(500, heading, "internal error")
        )
        # Starlette answers a fault outside the middleware stack: the security headers are added here.
        response.headers.update({**SECURITY_HEADERS, "content-security-policy": CONTENT_SECURITY_POLICY})
        return response

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(Exception, on_fault)
