"""What every `drillbot run` platform shares around its own connection.

The console, Slack and Discord runners differ only in how they talk to people. Around
that they all need the same things, in the same order: one instance per SQLite file, a
built core with metrics, the outbox leftovers resumed, the periodic tick, the operations
endpoints, and a graceful stop (stop claiming, let in-flight work finish within a bound,
release leases, close connections). `serving` does all of it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from bank.loader import Bank
from bot.bootstrap import (
    App,
    build,
    check_sqlite_location,
    freeze_startup_objects,
    thaw_startup_objects,
)
from bot.config import Settings
from bot.dispatch import TickReport
from bot.ops.health import start_health_server
from bot.ops.metrics import Metrics
from bot.ops.shutdown import STOP_SIGNALS, GracefulShutdown
from bot.ports import ChatPort, Clock
from bot.scheduling import Ticker
from bot.storage.database import InstanceLock, is_sqlite

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Bounded well under the 90 s that compose, Kubernetes and systemd give before a kill.
DEFAULT_GRACE_SECONDS = 60.0


class ServeError(Exception):
    """drillbot cannot serve as asked (a port is taken); the message says what to change."""


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    """How `drillbot run` serves, whatever the platform."""

    http_port: int | None = None  # /healthz, /readyz, /metrics; None: not served
    http_host: str = "0.0.0.0"
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    signals: Iterable[signal.Signals] = STOP_SIGNALS


@dataclass
class Serving:
    """A running core as a platform runner sees it."""

    app: App
    shutdown: GracefulShutdown
    # Platform name -> "is the connection up?", read by /readyz; runners add theirs.
    connected: dict[str, Callable[[], bool]] = field(default_factory=dict)
    drained: bool = True  # False when the stop cut in-flight work off (it resumes next start)

    @property
    def stopping(self) -> asyncio.Event:
        return self.shutdown.stopping

    async def tick(self) -> TickReport | None:
        """One dispatch tick, unless a stop was asked for; a running tick is in-flight work
        the stop waits for, so its sends are recorded before the database closes."""
        if self.stopping.is_set():
            return None
        async with self.shutdown.in_flight():
            return await self.app.dispatcher.tick()

    async def until_stopped(self, work: Awaitable[T]) -> T | None:
        """Run `work` (the platform's own loop) until it ends or a stop is asked for."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None


@contextlib.asynccontextmanager
async def serving(
    settings: Settings,
    *,
    ports: Mapping[str, ChatPort],
    options: ServeOptions | None = None,
    bank: Bank | None = None,
    metrics: Metrics | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Serving]:
    """Lock, build, resume, tick and serve the endpoints; on the way out stop in order."""
    options = options or ServeOptions()
    check_sqlite_location(settings.database_url)
    lock = InstanceLock(settings.database_url)
    lock.acquire()
    try:
        metrics = metrics if metrics is not None else Metrics()
        app = await build(settings, ports=ports, bank=bank, metrics=metrics, clock=clock)
        freeze_startup_objects()
        shutdown = GracefulShutdown(signals=options.signals)
        running = Serving(app=app, shutdown=shutdown)
        health = None
        ticker = Ticker(running, tick_seconds=settings.schedule.tick_seconds)
        try:
            shutdown.install()
            if options.http_port is not None:
                try:
                    health = await start_health_server(
                        drillbot=app,
                        host=options.http_host,
                        port=options.http_port,
                        metrics=metrics,
                        connected=running.connected,
                    )
                except OSError as error:
                    raise ServeError(
                        f"cannot serve /healthz, /readyz and /metrics on "
                        f"{options.http_host}:{options.http_port}: {error.strerror or error}; "
                        "choose another --http-port (DRILLBOT_HTTP_PORT)"
                    ) from None
            async with shutdown.in_flight():
                if is_sqlite(settings.database_url):
                    taken = await app.service.outbox.take_back_leases()
                    if taken:
                        logger.info("took back %d post(s) the previous process had claimed", taken)
                await app.service.outbox.resume_pending()
                await app.service.process_backlog(min_age=timedelta(0))
            ticker.start()
            yield running
        finally:
            shutdown.request_stop(reason="serving ended", announce=False)
            running.drained = await shutdown.drain(grace=options.grace_seconds)
            if not running.drained:
                logger.warning("stopped before all in-flight work finished; it resumes next start")
            ticker.shutdown()  # after the drain: APScheduler cancels a job still running
            try:
                released = await app.service.outbox.release_leases()
            except (OperationalError, DBAPIError, OSError) as error:
                logger.warning(
                    "could not release outbox leases (they expire by themselves): %s", error
                )
            else:
                if released:
                    logger.info("released %d outbox lease(s) for the next instance", released)
            if health is not None:
                await health.cleanup()
            shutdown.uninstall()
            await app.close()
            thaw_startup_objects()
    finally:
        lock.release()
