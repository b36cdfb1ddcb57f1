"""Many rows in one PostgreSQL statement: each column travels as one array and `unnest` turns the
arrays back into rows, so a save's hundreds of rows cost one parse, one execute and one round
trip. (asyncpg's executemany sends a bind and an execute per row, and the server runs the
statement once per row: it was the largest cost of a save on PostgreSQL.) SQLite keeps its
executemany, which stays in the process.

Every array travels as `text[]` and is cast back to its column's type in the statement: asyncpg
knows the codec of `text[]` but introspects any other array type (`uuid[]`, `varchar[]`…) on
each new connection, a catalog query that cost the server 20–30 ms and three round trips on the
first save of every connection of the pool."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import JSON, Executable, String, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession


def on_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _is_json(table: Table, key: str) -> bool:
    return isinstance(table.c[key].type, JSON)


def _is_text(table: Table, key: str) -> bool:
    # (String covers Text and VARCHAR(n): stored from text by the INSERT's own assignment, which
    # refuses a value too long, where an explicit CAST to VARCHAR(n) would cut it silently.)
    return isinstance(table.c[key].type, String)


def _as_text(value: object) -> str | None:
    """A value as its `text[]` element, read back by the column type's own input function."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, date):  # datetime too: ISO 8601, with its offset when it has one
        return value.isoformat()
    return str(value)


def _rows(table: Table, keys: tuple[str, ...], same: frozenset[str]) -> Any:
    """`SELECT $1, CAST(v.col AS type), … FROM unnest($2::text[], …) AS v(col, …)`: one text
    array per column, cast back to the column's type (a JSON column too: an array of lists would
    be a 2-D array); one plain parameter for a column every row shares (a save's sheet, author,
    time…: sent once, not once per row)."""
    varying = tuple(key for key in keys if key not in same)
    arrays = [bindparam(f"p_{key}", type_=ARRAY(Text())) for key in varying]
    source = func.unnest(*arrays).table_valued(*varying).render_derived(name="v")
    columns = [
        bindparam(f"p_{key}", type_=table.c[key].type)
        if key in same
        else source.c[key]
        if _is_text(table, key)
        else cast(source.c[key], table.c[key].type)
        for key in keys
    ]
    return select(*columns)


@cache
def _insert(table: Table, keys: tuple[str, ...], same: frozenset[str]) -> Executable:
    return pg_insert(table).from_select(list(keys), _rows(table, keys, same))


@cache
def _upsert(table: Table, keys: tuple[str, ...], same: frozenset[str]) -> Executable:
    statement = pg_insert(table).from_select(list(keys), _rows(table, keys, same))
    primary = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(
        index_elements=primary,
        set_={key: statement.excluded[key] for key in keys if key not in primary},
    )


def _shared(
    keys: tuple[str, ...], rows: Sequence[Mapping[str, object]], shared: Sequence[str]
) -> frozenset[str]:
    """Which of the columns the caller expects every row to share really are shared."""
    first = rows[0]
    return frozenset(key for key in shared if key in keys and all(row[key] == first[key] for row in rows))


def _parameters(
    table: Table, keys: tuple[str, ...], same: frozenset[str], rows: Sequence[Mapping[str, object]]
) -> dict[str, object]:
    parameters: dict[str, object] = {}
    for key in keys:
        if key in same:
            parameters[f"p_{key}"] = rows[0][key]
        elif _is_json(table, key):  # serialised as the JSON type itself does (json.dumps)
            parameters[f"p_{key}"] = [None if row[key] is None else json.dumps(row[key]) for row in rows]
        else:
            parameters[f"p_{key}"] = [_as_text(row[key]) for row in rows]
    return parameters


def insert_rows(
    table: Table, rows: Sequence[Mapping[str, object]], shared: Sequence[str] = ()
) -> tuple[Executable, dict[str, Any]]:
    """INSERT of every row (all with the keys of the first) as one statement and its parameters;
    `shared` names columns whose value is usually the same in every row."""
    keys = tuple(rows[0])
    same = _shared(keys, rows, shared)
    return _insert(table, keys, same), _parameters(table, keys, same, rows)


def upsert(
    table: Table, rows: Sequence[Mapping[str, object]], shared: Sequence[str] = ()
) -> tuple[Executable, dict[str, Any]]:
    """INSERT of every row, a row whose primary key is stored rewriting the stored one's other
    columns (ON CONFLICT DO UPDATE): new and changed lines in one statement."""
    keys = tuple(rows[0])
    same = _shared(keys, rows, shared)
    return _upsert(table, keys, same), _parameters(table, keys, same, rows)
