"""Hand-written statements straight to the driver, for the paths every event takes.

Measured on SQLite on the 2-core machine: the same one-row SELECT costs about 430 us
through the ORM, 170 us as a prebuilt Core statement and 8 us handed to the driver.
A grade reaction runs a dozen statements, so grading, the inbound journal and the
member and post look-ups write their SQL here. Values go through the columns' own
SQLAlchemy type processors on the way in and out, so a row written here reads back
through the ORM exactly as if the ORM had written it, on SQLite and PostgreSQL alike.

Statements run in the session's transaction, on its connection. The ORM does not see
these writes in objects it already holds; the paths that use this module read the rows
they change through it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Column
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


async def execute(connection: AsyncConnection, sql: str, params: Sequence[Any]) -> list[tuple]:
    """Run one statement, written for the driver (its placeholders, no SQLAlchemy
    constructs), in the connection's transaction; its rows."""
    driver = (await connection.get_raw_connection()).driver_connection
    return await _run(driver, connection.dialect.name == "sqlite", sql, params)


async def _run(driver: Any, sqlite: bool, sql: str, params: Sequence[Any]) -> list[tuple]:
    if sqlite:
        return list(await driver.execute_fetchall(sql, params))
    async with driver.cursor() as cursor:
        await cursor.execute(sql, params)
        return await cursor.fetchall() if cursor.description else []


_KEY = "drillbot.raw"


@lru_cache(maxsize=512)
def _for_driver(sql: str, postgres: bool) -> str:
    return sql.replace("?", "%s") if postgres else sql


@lru_cache(maxsize=512)
def _processors(column: Column, dialect: Any) -> tuple[Any, Any]:
    impl = column.type.dialect_impl(dialect)
    return impl.bind_processor(dialect), impl.result_processor(dialect, None)


class Raw:
    """The statements of one transaction. SQL is written with `?` placeholders (turned
    into `%s` for psycopg); `bind` and `load` convert values as their column would."""

    def __init__(self, driver: Any, dialect: Any) -> None:
        self._driver = driver
        self.dialect = dialect
        self.postgres = dialect.name == "postgresql"
        # Row locks: PostgreSQL's; SQLite has one writer and no such clause.
        self.for_update = " FOR UPDATE" if self.postgres else ""

    @classmethod
    async def of(cls, session: AsyncSession) -> Raw:
        """The session's, made once per transaction (finding the driver connection
        takes several trips through SQLAlchemy's greenlet bridge)."""
        transaction = session.sync_session.get_transaction()
        cached = session.info.get(_KEY)
        if cached is not None and transaction is not None and cached[0] is transaction:
            return cached[1]
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        raw = cls(driver, connection.dialect)
        session.info[_KEY] = (session.sync_session.get_transaction(), raw)
        return raw

    async def rows(self, sql: str, *params: Any) -> list[tuple]:
        return await _run(self._driver, not self.postgres, _for_driver(sql, self.postgres), params)

    async def one(self, sql: str, *params: Any) -> tuple | None:
        found = await self.rows(sql, *params)
        return found[0] if found else None

    async def value(self, sql: str, *params: Any) -> Any:
        row = await self.one(sql, *params)
        return row[0] if row is not None else None

    def bind(self, column: Column, value: Any) -> Any:
        if value is None:
            return None
        process = _processors(column, self.dialect)[0]
        return process(value) if process is not None else value

    def load(self, column: Column, value: Any) -> Any:
        if value is None:
            return None
        process = _processors(column, self.dialect)[1]
        return process(value) if process is not None else value
