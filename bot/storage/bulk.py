"""Bulk writes for the daily dispatch: hundreds of thousands of rows in seconds.

The ORM (and even Core's executemany) processes every bound value through layers of
Python. A daily run writes four outbox rows per member, so these helpers build one
multi-row statement per chunk, convert each distinct value once with the column type's
own bind processor (a run's timestamps are all the same instant), and hand it to the
driver as is. SQLite gets multi-row VALUES; PostgreSQL gets one array per column through
unnest(), which psycopg parses once however many rows it carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.raw import execute


def _processors(table: Table, columns: Sequence[str], dialect) -> list:
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]


def _tuples(rows: Sequence[tuple], processors: list) -> list[tuple]:
    """Each row with its values converted for the driver; a value object is converted only
    once however many rows share it (a run's timestamps are all the same instant)."""
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not converting:
        return list(rows)
    memo: dict[int, tuple[Any, Any]] = {}
    result = []
    for row in rows:
        values = list(row)
        for index, process in converting:
            value = values[index]
            if value is None:
                continue
            cached = memo.get(id(value))
            if cached is None or cached[0] is not value:
                cached = (value, process(value))
                memo[id(value)] = cached
            values[index] = cached[1]
        result.append(tuple(values))
    return result


def _constant_values(table: Table, constants: dict[str, Any], dialect) -> tuple:
    return tuple(
        process(value) if process is not None and value is not None else value
        for value, process in zip(
            constants.values(), _processors(table, list(constants), dialect), strict=True
        )
    )


async def insert_rows_ignoring_conflicts(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    constants: dict[str, Any] | None = None,
    conflict_column: str,
    returning: Sequence[str] = ("id",),
) -> list[tuple]:
    """INSERT ... ON CONFLICT (col) DO NOTHING RETURNING ...; returns the inserted rows.

    `rows` are tuples in `columns` order; `constants` are the values every row shares,
    converted and bound once per statement rather than once per row (they are half of
    what an outbox row holds).
    """
    if not rows:
        return []
    connection = await session.connection()
    dialect = connection.dialect
    constants = dict(constants or {})
    fixed = _constant_values(table, constants, dialect)
    values = _tuples(rows, _processors(table, columns, dialect))
    head = f"INSERT INTO {table.name} ({', '.join([*columns, *constants])}) SELECT"
    tail = f"ON CONFLICT ({conflict_column}) DO NOTHING RETURNING {', '.join(returning)}"
    found: list[tuple] = []
    sources = _row_sources(table, columns, values, constants, dialect, chunk=500)
    for picked, source, params in sources:
        # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
        found += await execute(
            connection, f"{head} {picked} FROM {source} WHERE true {tail}", (*fixed, *params)
        )
    return found


def _row_sources(
    table: Table,
    columns: Sequence[str],
    values: list[tuple],
    constants: dict[str, Any],
    dialect,
    *,
    chunk: int,
) -> Iterator[tuple[str, str, Iterable]]:
    """`values` as a row source a chunk at a time: (select list, FROM item, its
    parameters). The FROM item names its columns v.column1, v.column2...; the select
    list picks them and then a placeholder for each constant, whose values the caller
    binds ahead of the FROM item's.

    SQLite gets multi-row VALUES. PostgreSQL gets one array per column through
    unnest(), so a statement has as many parameters as the table has columns whatever
    the row count (psycopg parses a query with thousands of placeholders anew on every
    call; this one it parses once), in chunks twenty times larger.
    """
    names = [f"column{i}" for i in range(1, len(columns) + 1)]
    if dialect.name == "postgresql":
        types = [table.c[name].type.compile(dialect=dialect) for name in [*columns, *constants]]
        picked = ", ".join([*(f"v.{n}" for n in names), *(f"%s::{t}" for t in types[len(names) :])])
        arrays = ", ".join(f"%s::{t}[]" for t in types[: len(names)])
        source = f"unnest({arrays}) AS v({', '.join(names)})"
        for start in range(0, len(values), chunk * 20):
            part = values[start : start + chunk * 20]
            yield picked, source, map(list, zip(*part, strict=True))
        return
    picked = ", ".join([*(f"v.{n}" for n in names), *["?"] * len(constants)])
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        yield (
            picked,
            f"(VALUES {', '.join([one] * len(part))}) AS v",
            chain.from_iterable(part),
        )


async def update_by_key(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    key: str = "id",
    constants: dict[str, Any] | None = None,
) -> None:
    """UPDATE table SET col = value ... WHERE key = value, for many rows at once.

    Each row holds the values of `columns` in order, then its key; `constants` are
    the same for every row (converted and bound once, not once per row). Each chunk is
    one ``UPDATE ... FROM`` a row source (see `_row_sources`).
    """
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    constants = dict(constants or {})
    values = _tuples(rows, _processors(table, [*columns, key], dialect))
    fixed = _constant_values(table, constants, dialect)
    assignments = [
        *(f"{name} = v.column{i}" for i, name in enumerate(columns, start=1)),
        *(f"{name} = {'%s' if dialect.name == 'postgresql' else '?'}" for name in constants),
    ]
    sources = _row_sources(table, [*columns, key], values, {}, dialect, chunk=1000)
    for _, source, params in sources:
        await execute(
            connection,
            f"UPDATE {table.name} SET {', '.join(assignments)} FROM {source} "
            f"WHERE {table.name}.{key} = v.column{len(columns) + 1}",
            (*fixed, *params),
        )
