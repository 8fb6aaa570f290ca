"""Graceful shutdown on SIGTERM / SIGINT.

The order matters for "lose nothing, duplicate nothing": first stop claiming new work
(the signal sets `stopping`, which the tick and the platform loop watch), then let the
sends already under way finish and be recorded, bounded by a timeout shorter than the
orchestrator's kill grace period, then release leases and close connections. Anything
cut off by the timeout is still a pending outbox row and is resumed on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def wait_for_in_flight(tasks: Iterable[asyncio.Future], *, grace: float) -> bool:
    """Wait up to `grace` seconds for `tasks`; cancel what is left. True if all finished."""
    pending = {task for task in tasks if not task.done()}
    if not pending:
        return True
    _, late = await asyncio.wait(pending, timeout=grace)
    for task in late:
        task.cancel()
    if late:
        await asyncio.wait(late)  # let cancellation run its finally blocks
        logger.warning("%d in-flight job(s) did not finish within %gs", len(late), grace)
    return not late


class GracefulShutdown:
    """Signal handlers plus a register of in-flight work.

    ``stopping`` is set by the first SIGTERM/SIGINT; a second signal also sets ``forced``
    so `drain` stops waiting at once (an operator pressing Ctrl-C twice means it).
    """

    def __init__(self, *, signals: Iterable[signal.Signals] = STOP_SIGNALS) -> None:
        self.stopping = asyncio.Event()
        self.forced = asyncio.Event()
        self._signals = tuple(signals)
        self._installed: list[signal.Signals] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()
        self._announced = False  # the stop was news (a signal), so its progress is too

    def install(self) -> None:
        """Install the handlers on the running loop (asyncio's, so they run in-loop)."""
        self._loop = asyncio.get_running_loop()
        for sig in self._signals:
            try:
                self._loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                logger.debug("cannot handle %s here; the caller stops drillbot instead", sig)
                continue
            self._installed.append(sig)

    def uninstall(self) -> None:
        if self._loop is not None:
            for sig in self._installed:
                self._loop.remove_signal_handler(sig)
        self._installed.clear()

    def request_stop(self, *, reason: str, announce: bool = True) -> None:
        """Stop claiming new work; `announce` logs it (a signal is news, a normal end not)."""
        if not self.stopping.is_set():
            self._announced = announce
            logger.log(
                logging.INFO if announce else logging.DEBUG,
                "stopping (%s): claiming no new work, finishing what is in flight",
                reason,
            )
        self.stopping.set()

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.stopping.is_set():
            logger.warning("%s again: stopping now without waiting", sig.name)
            self.forced.set()
            return
        self.request_stop(reason=sig.name)

    def track(self, work: Awaitable[T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run `work` as a task that `drain` waits for."""
        task = asyncio.ensure_future(work)
        if name and isinstance(task, asyncio.Task):
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @contextlib.asynccontextmanager
    async def in_flight(self) -> AsyncIterator[None]:
        """Mark the current task as in-flight work for the duration of the block."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task under asyncio
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    @property
    def busy(self) -> int:
        return sum(1 for task in self._tasks if not task.done())

    async def wait(self) -> None:
        await self.stopping.wait()

    async def drain(self, *, grace: float) -> bool:
        """Wait for in-flight work up to `grace` seconds (or until a second signal); cancel the
        rest. True when everything finished on its own."""
        current = asyncio.current_task()
        tasks = {task for task in self._tasks if task is not current and not task.done()}
        if not tasks:
            return True
        logger.log(
            logging.INFO if self._announced else logging.DEBUG,
            "waiting up to %gs for %d in-flight job(s)",
            grace,
            len(tasks),
        )
        everything = asyncio.ensure_future(asyncio.wait(tasks))
        forced = asyncio.ensure_future(self.forced.wait())
        try:
            await asyncio.wait(
                {everything, forced}, timeout=grace, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            everything.cancel()
            forced.cancel()
            await asyncio.gather(everything, forced, return_exceptions=True)
        return await wait_for_in_flight(tasks, grace=0)
