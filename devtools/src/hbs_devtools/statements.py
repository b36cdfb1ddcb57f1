"""The SQL a piece of a test sends: for the tests that pin how many statements a request costs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

_counting: ContextVar[bool] = ContextVar("hbs_counting_statements", default=False)


@dataclass(frozen=True)
class Statement:
    sql: str
    """Whitespace folded to single spaces."""
    executemany: bool


@contextmanager
def statements(engine: Engine) -> Iterator[list[Statement]]:
    """The statements sent within the block by this task and what it awaits: SQLAlchemy carries
    the context into its greenlets, and the service's consumers and outbox relay, which share the
    engine, run in tasks of their own, so their statements are not counted (they made PostgreSQL
    runs of these tests flaky)."""
    sent: list[Statement] = []

    def record(_conn: Any, _cursor: Any, sql: str, _params: Any, _context: Any, executemany: bool) -> None:
        if _counting.get():
            sent.append(Statement(" ".join(sql.split()), executemany))

    event.listen(engine, "before_cursor_execute", record)
    token = _counting.set(True)
    try:
        yield sent
    finally:
        _counting.reset(token)
        event.remove(engine, "before_cursor_execute", record)
