"""SQLite for the async engine, run on the event loop's own thread.

aiosqlite sends every statement, fetch and commit to a worker thread and waits for the
answer: a grade's dozen statements cost about sixty such trips, most of an event's time,
while SQLite answers each in microseconds. drillbot's transactions already run one at a
time per process (`storage.database.transaction`), and one process serves a database
file (`InstanceLock`), so nothing is gained by the thread. These classes give SQLAlchemy's
aiosqlite dialect the connection and cursor it expects, running each call at once.

A statement that meets another process's write lock (a CLI command writing while the bot
runs) does not block the loop in SQLite's busy handler: the connection's busy timeout is
short, and the wait goes on here with `asyncio.sleep` up to `BUSY_WAIT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

BUSY_WAIT_SECONDS = 30.0
SQLITE_BUSY_MS = 20  # how long SQLite itself waits, on the loop, before handing back
_BUSY_PAUSE_SECONDS = 0.01


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or (
        "database is locked" in str(error)
    )


async def _when_free(call: Callable[[], Any]) -> Any:
    """`call()`, tried again while another process holds the database's lock."""
    deadline = None
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            deadline = deadline or time.monotonic() + BUSY_WAIT_SECONDS
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(_BUSY_PAUSE_SECONDS)


class InlineCursor:
    """An aiosqlite-shaped cursor over a sqlite3 cursor."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self):
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await _when_free(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)
        await _when_free(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self):
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None):
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self):
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self):
        return self

    async def __anext__(self):
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class InlineConnection:
    """An aiosqlite-shaped connection over a sqlite3 connection on the loop's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # None once closed

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._live().cursor())

    def _live(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> list:
        cursor = self._live().cursor()
        try:
            await _when_free(lambda: cursor.execute(sql, parameters))
            return cursor.fetchall()
        finally:
            cursor.close()

    async def commit(self) -> None:
        await _when_free(self._live().commit)

    async def rollback(self) -> None:
        self._live().rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._live().create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def inline_creator(database: str, *, timeout_ms: int = SQLITE_BUSY_MS):
    """The `async_creator` for `create_async_engine`: a new inline connection to
    `database` (a file path, or ":memory:")."""

    async def create() -> InlineConnection:
        connection = sqlite3.connect(
            database, timeout=timeout_ms / 1000, check_same_thread=False, uri=False
        )
        return InlineConnection(connection)

    return create
