"""The school office's pages (văn phòng, quản trị): import, export, students, accounts, audit,
signing, outside systems."""

from __future__ import annotations

from fastapi import APIRouter

from hbs_portal.web.admin import (
    accounts,
    audit,
    classes,
    exchange,
    exports,
    imports,
    national,
    outside,
    signing,
    staff,
    students,
)

ROUTERS: list[APIRouter] = [
    students.router,
    classes.router,
    staff.router,
    imports.router,
    exports.router,
    national.router,
    exchange.router,
    accounts.router,
    audit.router,
    signing.router,
    outside.router,
]
