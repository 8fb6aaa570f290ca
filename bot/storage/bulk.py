"""Bulk writes for the daily dispatch: hundreds of thousands of rows in seconds.

The ORM (and even Core's executemany) processes every bound value through layers of
Python. A daily run writes four outbox rows per member, so these helpers build one
multi-row statement per chunk, convert each distinct value once with the column type's
own bind processor (a run's timestamps are all the same instant), and hand it to the
driver as is. SQLite gets multi-row VALUES; PostgreSQL gets one array per column through
unnest(), which psycopg parses once however many rows it carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession


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
    chunk: int = 500,
) -> list[tuple]:
    """INSERT ... ON CONFLICT (col) DO NOTHING RETURNING ...; returns the inserted rows.

    `rows` are tuples in `columns` order; `constants` are the values every row shares
    (converted once, not once per row).
    """
    if not rows:
        return []
    connection = await session.connection()
    dialect = connection.dialect
    constants = dict(constants or {})
    fixed = _constant_values(table, constants, dialect)
    values = _tuples(rows, _processors(table, columns, dialect))
    if dialect.name == "postgresql":
        return await _insert_unnest(
            connection,
            table,
            [row + fixed for row in values],
            [*columns, *constants],
            conflict_column,
            returning,
        )
    # The shared values are bound once per statement, not once per row: SQLite binds
    # and copies every parameter, and they are half of what an outbox row holds.
    picked = ", ".join([*(f"column{i}" for i in range(1, len(columns) + 1)), *["?"] * len(fixed)])
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    found: list[tuple] = []
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
        sql = (
            f"INSERT INTO {table.name} ({', '.join([*columns, *constants])}) "
            f"SELECT {picked} FROM (VALUES {', '.join([one] * len(part))}) WHERE true "
            f"ON CONFLICT ({conflict_column}) DO NOTHING RETURNING {', '.join(returning)}"
        )
        params = (*fixed, *chain.from_iterable(part))
        result = await connection.exec_driver_sql(sql, params)
        found.extend(tuple(row) for row in result.fetchall())
    return found


async def _insert_unnest(
    connection,
    table: Table,
    values: list[tuple],
    columns: list[str],
    conflict_column: str,
    returning: Sequence[str],
    chunk: int = 10_000,
) -> list[tuple]:
    """PostgreSQL: one array per column through unnest(), so a statement has as many
    parameters as the table has columns, whatever the row count. psycopg parses a query
    with thousands of placeholders anew on every call; this one it parses once."""
    dialect = connection.dialect
    arrays = ", ".join(f"%s::{table.c[name].type.compile(dialect=dialect)}[]" for name in columns)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
        f" ON CONFLICT ({conflict_column}) DO NOTHING RETURNING {', '.join(returning)}"
    )
    found: list[tuple] = []
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        result = await connection.exec_driver_sql(sql, tuple(map(list, zip(*part, strict=True))))
        found.extend(tuple(row) for row in result.fetchall())
    return found


async def update_by_key(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    key: str = "id",
    constants: dict[str, Any] | None = None,
    chunk: int = 1000,
) -> None:
    """UPDATE table SET col = value ... WHERE key = value, for many rows at once.

    Each row holds the values of `columns` in order, then its key; `constants` are
    the same for every row (converted once, not once per row). SQLite gets one
    ``UPDATE ... FROM (VALUES ...)`` per chunk, PostgreSQL one executemany.
    """
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    constants = dict(constants or {})
    values = _tuples(rows, _processors(table, [*columns, key], dialect))
    fixed = _constant_values(table, constants, dialect)
    if dialect.name == "postgresql":
        assignments = [f"{name} = %s" for name in [*columns, *constants]]
        sql = f"UPDATE {table.name} SET {', '.join(assignments)} WHERE {key} = %s"
        if fixed:
            values = [(*row[:-1], *fixed, row[-1]) for row in values]
        await connection.exec_driver_sql(sql, values)
        return
    assignments = [
        *(f"{name} = v.column{i}" for i, name in enumerate(columns, start=1)),
        *(f"{name} = ?" for name in constants),
    ]
    one = "(" + ", ".join(["?"] * (len(columns) + 1)) + ")"
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        sql = (
            f"UPDATE {table.name} SET {', '.join(assignments)} "
            f"FROM (VALUES {', '.join([one] * len(part))}) AS v "
            f"WHERE {table.name}.{key} = v.column{len(columns) + 1}"
        )
        await connection.exec_driver_sql(sql, (*fixed, *chain.from_iterable(part)))
