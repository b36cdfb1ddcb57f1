"""Many rows in one PostgreSQL statement: each column travels as one array and `unnest` turns the
arrays back into rows, so a save's hundreds of rows cost one parse, one execute and one round
trip. (asyncpg's executemany sends a bind and an execute per row, and the server runs the
statement once per row: it was the largest cost of a save on PostgreSQL.) SQLite keeps its
executemany, which stays in the process."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import JSON, Executable, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession


def on_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _is_json(table: Table, key: str) -> bool:
    return isinstance(table.c[key].type, JSON)


def _rows(table: Table, keys: tuple[str, ...]) -> Any:
    """`SELECT … FROM unnest($1::type[], $2::type[], …) AS v(col, …)`, one typed array per
    column; a JSON column travels as text (an array of lists would be taken for a 2-D array)."""
    arrays = [
        bindparam(f"p_{key}", type_=ARRAY(Text() if _is_json(table, key) else table.c[key].type))
        for key in keys
    ]
    source = func.unnest(*arrays).table_valued(*keys).render_derived(name="v")
    return select(*[cast(source.c[key], JSON) if _is_json(table, key) else source.c[key] for key in keys])


@cache
def _insert(table: Table, keys: tuple[str, ...]) -> Executable:
    return pg_insert(table).from_select(list(keys), _rows(table, keys))


@cache
def _upsert(table: Table, keys: tuple[str, ...]) -> Executable:
    statement = pg_insert(table).from_select(list(keys), _rows(table, keys))
    primary = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(
        index_elements=primary,
        set_={key: statement.excluded[key] for key in keys if key not in primary},
    )


def _arrays(
    table: Table, keys: tuple[str, ...], rows: Sequence[Mapping[str, object]]
) -> dict[str, list[object]]:
    arrays: dict[str, list[object]] = {}
    for key in keys:
        if _is_json(table, key):  # serialised as the JSON type itself does (json.dumps)
            arrays[f"p_{key}"] = [None if row[key] is None else json.dumps(row[key]) for row in rows]
        else:
            arrays[f"p_{key}"] = [row[key] for row in rows]
    return arrays


def insert_rows(table: Table, rows: Sequence[Mapping[str, object]]) -> tuple[Executable, dict[str, Any]]:
    """INSERT of every row (all with the keys of the first) as one statement and its parameters."""
    keys = tuple(rows[0])
    return _insert(table, keys), _arrays(table, keys, rows)


def upsert(table: Table, rows: Sequence[Mapping[str, object]]) -> tuple[Executable, dict[str, Any]]:
    """INSERT of every row, a row whose primary key is stored rewriting the stored one's other
    columns (ON CONFLICT DO UPDATE): new and changed lines in one statement."""
    keys = tuple(rows[0])
    return _upsert(table, keys), _arrays(table, keys, rows)
