"""A teacher's own deadlines (Đ5), shown on their home page and the homeroom page: each window of
a step that concerns them, its dates, the days left or past, and an extension granted to them or
their class."""

from __future__ import annotations

from typing import Any

from hbs_portal.clients import BackendError
from hbs_portal.web.common import templates
from hbs_portal.web.deps import Services
from hbs_shared.display import day_text


def dmy(value: str | None) -> str:
    """An ISO day from a service as people write it, dd/mm/yyyy (the shared formatter)."""
    return day_text(value)


templates.env.filters["dmy"] = dmy


async def my_deadlines(api: Services, steps: frozenset[int] = frozenset({0, 1, 2})) -> list[dict[str, Any]]:
    """The caller's deadlines at `steps`; none when grades cannot say (the page still opens)."""
    try:
        found: list[dict[str, Any]] = (await api.grades.my_deadlines())["deadlines"]
    except BackendError:
        return []
    return [d for d in found if d["step"] in steps]
