"""The school's facts in grades: what identity announced (`identity.school.changed`), per school.

Grades prints the school's name, province and principal on what it sends for signing and works
in the current school year; none of it is a setting. Until identity's event has arrived a
request that needs them is a 503 naming the school (hbs_shared.school_facts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hbs_grades.wiring import grades_of
from hbs_shared.auth import CurrentPrincipal, Principal
from hbs_shared.problems import Problem
from hbs_shared.schools import PROVINCE_SCOPE
from hbs_shared.service import runtime_of

PROVINCE_REFUSED = Problem(
    403,
    "Tài khoản của Sở GD&ĐT không mở được dữ liệu của một trường",
    "the province's accounts belong to no school; they read only /province/progress",
)


async def current_year(request: Request, principal: Principal) -> str:
    """The caller's school's current year (năm học), as identity announced it. The province's
    people belong to no school: 403 here, where a school's endpoint would otherwise say 503."""
    if principal.school_id == PROVINCE_SCOPE:
        raise PROVINCE_REFUSED
    async with runtime_of(request).db.transaction() as session:
        facts = await grades_of(request).school.require(session, principal.school_id)
    return facts.current_year()


async def _current_year(principal: CurrentPrincipal, request: Request) -> str:
    return await current_year(request, principal)


CurrentSchoolYear = Annotated[str, Depends(_current_year)]
"""The caller's school's current year, for endpoints that work in it."""
