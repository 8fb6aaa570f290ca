"""Engines, sessions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.storage.inline_sqlite import SQLITE_BUSY_MS, inline_creator

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Accept the URLs people write and pick the async driver drillbot ships with."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif driver in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+asyncpg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    url = normalise_url(url)
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            async_creator=inline_creator(str(sqlite_path(url) or ":memory:")),
            json_deserializer=_json_loads,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _json_loads(text: str):
    """JSON columns as Python values; the empty list most of them hold is not parsed (a
    daily run reads two such columns for every subscription)."""
    return [] if text == "[]" else json.loads(text)


# A daily run writes in bursts: a 100k-member team's day is about 800k outbox row writes
# within seconds. SQLite's default checkpoints every 1,000 pages (4 MB) of write-ahead log,
# which in such a burst copies the same index and table pages to the database file, and
# syncs it, once per batch; every 16,384 pages (64 MB at the default page size) a run
# checkpoints a few times and spends about 0.6 s less on 100k members. The log file is
# cut back to 64 MB after each checkpoint, so that is all the extra disk it takes.
WAL_CHECKPOINT_PAGES = 16_384
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers work while the bot writes. SQLite's own busy wait is short, as it
    blocks the event loop; `inline_sqlite` waits longer without blocking it."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
    cursor.close()


# The newest SQL drillbot writes for SQLite: RETURNING (3.35) and UPDATE ... FROM (3.33)
# in the outbox, json_each in planning.
OLDEST_SQLITE = (3, 35, 0)


def sqlite_library_problem() -> str | None:
    """Why the SQLite this Python is built with cannot run drillbot, or None if it can.

    An old Linux's system SQLite would otherwise fail in the middle of the first daily
    run rather than at start."""
    if sqlite3.sqlite_version_info < OLDEST_SQLITE:
        return (
            f"drillbot needs SQLite {'.'.join(map(str, OLDEST_SQLITE))} or newer; this "
            f"Python uses SQLite {sqlite3.sqlite_version}. Use a Python built with a newer "
            "SQLite, or PostgreSQL"
        )
    try:
        with closing(sqlite3.connect(":memory:")) as connection:
            connection.execute("SELECT value FROM json_each('[1]')").fetchall()
    except sqlite3.OperationalError:
        return (
            f"drillbot needs SQLite's JSON functions, and this Python's SQLite "
            f"{sqlite3.sqlite_version} was built without them. Use a Python built with a "
            "standard SQLite, or PostgreSQL"
        )
    return None


def dialect_insert(session: AsyncSession):
    """The INSERT construct of the session's database, for ON CONFLICT clauses."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgres_insert if dialect == "postgresql" else sqlite_insert


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# SQLite has one writer. Transactions that meet at its lock wait in its busy handler,
# which sleeps and retries; queued here they follow each other at once instead.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
_IN_TRANSACTION: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "in_transaction", default=False
)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error.

    On SQLite one transaction of this process runs at a time (a transaction opened while
    the same task holds one goes ahead, as before).
    """
    engine = sessions.kw.get("bind")
    lock = None
    if engine is not None and engine.dialect.name == "sqlite" and not _IN_TRANSACTION.get():
        lock = _SQLITE_WRITERS.setdefault(engine.sync_engine, asyncio.Lock())
    if lock is None:
        async with sessions() as session, session.begin():
            yield session
        return
    async with lock:
        token = _IN_TRANSACTION.set(True)
        try:
            async with sessions() as session, session.begin():
                yield session
        finally:
            _IN_TRANSACTION.reset(token)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (safe to run on every start)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


class InstanceLocked(Exception):
    """Another drillbot already serves this SQLite database."""


class InstanceLock:
    """One drillbot per SQLite file: an exclusive lock on `<database>.lock`.

    SQLite has no row locks to share work safely between processes, so a second
    instance is refused; PostgreSQL deployments run several and need no lock.
    """

    def __init__(self, url: str) -> None:
        self._path = None
        self._handle = None
        path = sqlite_path(normalise_url(url)) if is_sqlite(url) else None
        if path is not None:
            self._path = path.with_name(path.name + ".lock")

    def acquire(self) -> None:
        if self._path is None:
            return
        import fcntl

        handle = open(self._path, "a+")  # noqa: SIM115 - held open for the process lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise InstanceLocked(
                f"another drillbot is already running on {self._path.with_suffix('')}; SQLite "
                "allows one instance (use PostgreSQL to run several)"
            ) from None
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
