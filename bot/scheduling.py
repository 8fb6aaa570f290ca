"""APScheduler runs a few periodic jobs; the work itself lives in the dispatcher.

One tick job (every `tick_seconds`) claims whatever is due. There is deliberately no job
per member: 100k members are 100k rows with an indexed `next_run_at`, not 100k jobs.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.dispatch import TickReport

logger = logging.getLogger(__name__)


class Ticks(Protocol):
    async def tick(self) -> TickReport | None: ...


class Ticker:
    """Calls `dispatcher.tick()` every `tick_seconds`; a None report is a skipped tick."""

    def __init__(self, dispatcher: Ticks, *, tick_seconds: float) -> None:
        self._dispatcher = dispatcher
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=tick_seconds),
            id="dispatch-tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )

    async def _tick(self) -> None:
        try:
            report = await self._dispatcher.tick()
        except Exception:  # a bad tick must not stop the next one; say what happened
            logger.exception("dispatch tick failed; the next tick will try again")
            return
        if report is None:
            return
        if report.posts_inserted or report.skipped_late:
            logger.info(
                "tick: %d DM drills, %d channel questions, %d posts sent, %d skipped as too late",
                report.dm_runs,
                report.channel_runs,
                report.posts_sent,
                report.skipped_late,
            )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
