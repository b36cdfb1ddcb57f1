"""The problems identity answers with; each names the field (and the row, in imports)."""

from __future__ import annotations

from hbs_shared.problems import Problem
from hbs_shared.roles import BOARD, OFFICE, OVERSEERS, STAFF

ADMIN_ROLES = OFFICE
BOARD_ROLES = BOARD
OVERSEER_ROLES = OVERSEERS
STAFF_ROLES = STAFF


def invalid(field: str, detail: str) -> Problem:
    return Problem(422, "Dữ liệu không hợp lệ", detail, field=field)


def conflict(field: str | None, detail: str) -> Problem:
    return Problem(409, "Dữ liệu xung đột với dữ liệu đã có", detail, field=field)


def not_found(detail: str) -> Problem:
    return Problem(404, "Không tìm thấy", detail)


def forbidden(detail: str = "not allowed") -> Problem:
    return Problem(403, "Không có quyền thực hiện thao tác này", detail)


def in_use(what: str, detail: str, referenced_by: dict[str, int]) -> Problem:
    """409 for a delete refused because other records refer to the object (named in `detail`)."""
    return Problem(
        409,
        f"Không xoá được {what}: vẫn còn dữ liệu tham chiếu",
        detail,
        field="id",
        extra={"referenced_by": {k: v for k, v in referenced_by.items() if v}},
    )
