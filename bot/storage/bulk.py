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
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession


def _placeholder(dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _processors(table: Table, columns: Sequence[str], dialect) -> list:
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]


def _rows(rows: Sequence[dict], columns: Sequence[str], processors: list) -> list[tuple]:
    """Each row as a tuple of driver values; a value object is converted only once."""
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not converting:
        return [tuple(row[name] for name in columns) for row in rows]
    memo: dict[int, tuple[Any, Any]] = {}
    result = []
    for row in rows:
        values = [row[name] for name in columns]
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


async def insert_ignoring_conflicts(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict],
    *,
    conflict_column: str,
    returning: Sequence[str] = ("id",),
    chunk: int = 500,
) -> list[tuple]:
    """INSERT ... ON CONFLICT (col) DO NOTHING RETURNING ...; returns the inserted rows."""
    if not rows:
        return []
    connection = await session.connection()
    dialect = connection.dialect
    columns = list(rows[0].keys())
    processors = _processors(table, columns, dialect)
    if dialect.name == "postgresql":
        return await _insert_unnest(
            connection, table, rows, columns, processors, conflict_column, returning
        )
    mark = _placeholder(dialect)
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    found: list[tuple] = []
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
            + ", ".join([one] * len(part))
            + f" ON CONFLICT ({conflict_column}) DO NOTHING RETURNING {', '.join(returning)}"
        )
        params = tuple(value for row in _rows(part, columns, processors) for value in row)
        result = await connection.exec_driver_sql(sql, params)
        found.extend(tuple(row) for row in result.fetchall())
    return found


async def _insert_unnest(
    connection,
    table: Table,
    rows: Sequence[dict],
    columns: list[str],
    processors: list,
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
    for start in range(0, len(rows), chunk):
        values = _rows(rows[start : start + chunk], columns, processors)
        result = await connection.exec_driver_sql(sql, tuple(map(list, zip(*values, strict=True))))
        found.extend(tuple(row) for row in result.fetchall())
    return found


async def update_by_key(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict],
    *,
    key: str = "id",
    set_constants: dict[str, Any] | None = None,
) -> None:
    """UPDATE table SET col = value ... WHERE key = ?, one executemany for all rows.

    `rows` give per-row values (and the key); `set_constants` are the same for every row.
    """
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    mark = _placeholder(dialect)
    varying = [name for name in rows[0] if name != key]
    constants = dict(set_constants or {})
    assignments = [f"{name} = {mark}" for name in varying]
    assignments += [f"{name} = {mark}" for name in constants]
    sql = f"UPDATE {table.name} SET {', '.join(assignments)} WHERE {key} = {mark}"
    processors = _processors(table, [*varying, key], dialect)
    fixed = tuple(
        process(value) if process is not None and value is not None else value
        for value, process in zip(
            constants.values(), _processors(table, list(constants), dialect), strict=True
        )
    )
    params = [(*row[:-1], *fixed, row[-1]) for row in _rows(rows, [*varying, key], processors)]
    await connection.exec_driver_sql(sql, params)
