"""Wires settings, storage, the bank and platform ports into a running service.

Nothing here runs at import time; `build(settings)` does it all, and tests pass their
own clock and ports in.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bank.loader import Bank, load_bank
from bot.clock import SystemClock
from bot.config import Settings
from bot.dispatch import Dispatcher, DispatchSettings
from bot.ports import NO_METRICS, ChatPort, Clock, MetricsSink
from bot.service import DrillService
from bot.storage.database import (
    create_engine,
    is_sqlite,
    redact_url,
    session_factory,
    sqlite_library_problem,
    sqlite_path,
    upgrade,
)

logger = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database cannot be opened, written or migrated; the message says which and why."""


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bank: Bank
    service: DrillService
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.engine.dispose()


def check_sqlite_location(url: str) -> None:
    if not is_sqlite(url):
        return
    path = sqlite_path(url)
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise DatabaseUnavailable(f"database {url}: folder {folder} does not exist")
    if path.exists() and not path.is_file():
        raise DatabaseUnavailable(f"database {url}: {path} is not a file")


async def open_database(settings: Settings) -> AsyncEngine:
    """An engine on a reachable, migrated database, or DatabaseUnavailable."""
    url = settings.database_url
    shown = redact_url(url)
    if is_sqlite(url):
        problem = sqlite_library_problem()
        if problem is not None:
            raise DatabaseUnavailable(problem)
        check_sqlite_location(url)
    try:
        engine = create_engine(url)
    except Exception as error:  # a malformed URL or missing driver: say so in one line
        raise DatabaseUnavailable(f"database {shown}: {error}") from None
    try:
        await upgrade(engine)
    except (OperationalError, DBAPIError, OSError) as error:
        await engine.dispose()
        reason = getattr(error, "orig", None) or error
        raise DatabaseUnavailable(
            f"database {shown}: {str(reason).strip().splitlines()[0]}"
        ) from None
    return engine


async def build(
    settings: Settings,
    *,
    ports: Mapping[str, ChatPort],
    clock: Clock | None = None,
    bank: Bank | None = None,
    metrics: MetricsSink = NO_METRICS,
) -> App:
    bank = bank if bank is not None else load_bank(list(settings.bank.paths))
    engine = await open_database(settings)
    sessions = session_factory(engine)
    service = DrillService(
        sessions=sessions,
        ports=ports,
        clock=clock or SystemClock(),
        bank=bank,
        settings=settings,
        metrics=metrics,
    )
    await service.sync_bank()
    dispatcher = Dispatcher(
        service=service,
        settings=DispatchSettings(
            batch_size=settings.schedule.batch_size,
            grace=timedelta(hours=settings.schedule.grace_hours),
        ),
    )
    return App(
        settings=settings,
        engine=engine,
        sessions=sessions,
        bank=bank,
        service=service,
        dispatcher=dispatcher,
    )


YOUNG_COLLECTION_EVERY = 50_000  # allocations between first-generation collections
_thresholds_before: tuple[int, int, int] | None = None


def freeze_startup_objects() -> None:
    """Take what start-up built out of the garbage collector's sight, once, before serving.

    The bank, the schema and SQLAlchemy's compiled caches live as long as the process.
    Left in place, every full collection during a daily run rescans all of them: for a
    100k-member dispatch that was a fifth of its time. Frozen objects are still freed by
    reference counting; only the cycle collector skips them.

    The first generation is also collected less eagerly. A daily run allocates millions
    of short-lived objects without a single reference cycle among them, and at the
    default threshold (a collection every 700 allocations) it spent about half a
    second of a 100k-member dispatch looking for cycles that were not there. Reference
    counting frees those objects as before; only cyclic garbage waits a little longer.
    """
    global _thresholds_before
    gc.collect()
    gc.freeze()
    _thresholds_before = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *_thresholds_before[1:])


def thaw_startup_objects() -> None:
    """Undo `freeze_startup_objects` once serving has stopped."""
    gc.unfreeze()
    if _thresholds_before is not None:
        gc.set_threshold(*_thresholds_before)
