"""PostgreSQL's planner statistics on the outbox, kept current during a big run."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.database import transaction

logger = logging.getLogger(__name__)

# How many rows PostgreSQL's statistics say the outbox has (-1 before its first analysis).
OUTBOX_ROWS_KNOWN = text("SELECT reltuples FROM pg_class WHERE oid = 'posts'::regclass")


class OutboxStatistics:
    """Keeps PostgreSQL's statistics on the outbox current during a big run.

    Each batch's planning asks for its members' recent posts. PostgreSQL plans that from
    table statistics, which autovacuum refreshes only every so often, while a big team's
    run (a first day, a catch-up after downtime) grows the outbox several times over in
    minutes; planned from an empty table's statistics, every batch scans all of it. So
    the run analyses the table itself whenever it has added as many rows as the last
    statistics knew of: a handful of times in the biggest run, never in a small one.
    Statistics only make queries faster: if the database refuses, the run goes on
    without them and says so once.
    """

    FIRST = 10_000  # rows a run adds before it looks at statistics at all

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._known: int | None = None  # rows in the table when statistics were last taken
        self._analysed_at = 0  # this run's inserted rows at that time
        self._given_up = False

    async def keep_up(self, *, inserted: int) -> None:
        """`inserted`: the rows this run has added to the outbox so far."""
        if self._given_up:
            return
        try:
            if self._known is None:
                async with transaction(self._sessions) as session:
                    self._known = max(0, int(await session.scalar(OUTBOX_ROWS_KNOWN) or 0))
            added = inserted - self._analysed_at
            if added < max(self.FIRST, self._known):
                return
            async with transaction(self._sessions) as session:
                await session.execute(text("ANALYZE posts"))
        except DBAPIError as error:
            self._given_up = True
            logger.warning("could not refresh the outbox statistics, going on without: %s", error)
            return
        self._known += added
        self._analysed_at = inserted
        logger.info("refreshed the outbox statistics after %d new posts", inserted)
