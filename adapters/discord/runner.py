"""`drillbot run --platform discord`: the port, the core, the tick and the gateway in one loop.

Settings come from drillbot.yaml; the token only from the environment:

- ``DISCORD_TOKEN``: the bot token (never logged).
- ``DRILLBOT_DISCORD_API_URL`` (optional): the REST API base, e.g. a shared REST proxy so
  that every replica spends one rate limit, as large bots do; or a local fake in tests.
  ``http://proxy:8080`` means ``http://proxy:8080/api/v10``.
- ``DRILLBOT_DISCORD_GATEWAY_URL`` (optional): the gateway to connect to instead of the
  one Discord names.

discord.py keeps both endpoints as class attributes, so they are set for the process
while drillbot serves and put back afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.app import DiscordBot, DiscordSetupError
from bank.loader import Bank
from bot.bootstrap import build, check_sqlite_location
from bot.config import Settings
from bot.dispatch import Dispatcher, TickReport
from bot.scheduling import Ticker
from bot.storage.database import InstanceLock

logger = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_TOKEN"
API_URL_ENV = "DRILLBOT_DISCORD_API_URL"
GATEWAY_URL_ENV = "DRILLBOT_DISCORD_GATEWAY_URL"
API_VERSION = 10


def api_base(url: str) -> str:
    """The REST base discord.py prefixes every route with, ending in /api/vN."""
    url = url.rstrip("/")
    if re.search(r"/api/v\d+$", url):
        return url
    return f"{url}/api/v{API_VERSION}"


@contextmanager
def discord_endpoints(*, api_url: str | None, gateway_url: str | None) -> Iterator[None]:
    """Point discord.py's REST and gateway connections elsewhere for the duration."""
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    try:
        if api_url:
            Route.BASE = api_base(api_url)
        if gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


def pin_gateway(client: discord.Client, gateway_url: str) -> None:
    """Auto-sharding asks Discord for the shard count and the gateway together; keep the
    count and use our gateway."""
    if not isinstance(client, discord.AutoShardedClient) or client.shard_count is not None:
        return
    http = client.http
    ask = http.get_bot_gateway

    async def get_bot_gateway(*args: Any, **kwargs: Any):
        shards, _, limits = await ask(*args, **kwargs)
        return shards, gateway_url, limits

    http.get_bot_gateway = get_bot_gateway  # type: ignore[method-assign]


class _TickGuard:
    """The dispatcher as the ticker sees it, remembering a tick in progress so shutdown
    can let it finish before the database closes under it."""

    def __init__(self, dispatcher: Dispatcher, *, grace: float = 30.0) -> None:
        self._dispatcher = dispatcher
        self._grace = grace
        self._running: asyncio.Task | None = None

    async def tick(self) -> TickReport:
        self._running = asyncio.current_task()
        try:
            return await self._dispatcher.tick()
        finally:
            self._running = None

    async def settle(self) -> None:
        running = self._running
        if running is None or running.done():
            return
        _, late = await asyncio.wait({running}, timeout=self._grace)
        if late:
            logger.warning("a dispatch tick was still running at shutdown; it resumes next start")


@contextmanager
def _close_on_sigterm(bot: DiscordBot) -> Iterator[None]:
    """A container stop (SIGTERM) lets the events being handled finish, then closes the
    gateway; shutdown then runs its course (an interrupted send resumes on next start)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task] = set()

    async def stop() -> None:
        await bot.drain(grace=10.0)
        await bot.client.close()

    def on_sigterm() -> None:
        logger.info("SIGTERM: finishing what is in hand, then closing the Discord connection")
        task = loop.create_task(stop())
        closing.add(task)
        task.add_done_callback(closing.discard)

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def read_token(env: Mapping[str, str]) -> str:
    token = (env.get(TOKEN_ENV) or "").strip()
    if not token:
        raise DiscordSetupError(
            f"set {TOKEN_ENV} to the bot token (Discord developer portal, your application, Bot)"
        )
    return token


async def serve_discord(
    *,
    settings: Settings,
    env: Mapping[str, str] | None = None,
    bank: Bank | None = None,
    client_options: Mapping[str, Any] | None = None,
    started: Callable[[DiscordBot], None] | None = None,
) -> None:
    """Serve Discord until the client closes (or the task is cancelled).

    `started` is called with the bot once it has logged in and synced its commands,
    before the gateway connects: tests use it to close the bot again.
    """
    env = os.environ if env is None else env
    token = read_token(env)
    check_sqlite_location(settings.database_url)
    lock = InstanceLock(settings.database_url)
    lock.acquire()
    try:
        gateway_url = env.get(GATEWAY_URL_ENV) or None
        with discord_endpoints(api_url=env.get(API_URL_ENV) or None, gateway_url=gateway_url):
            bot = DiscordBot(settings=settings, client_options=client_options)
            if gateway_url:
                pin_gateway(bot.client, gateway_url)
            app = await build(settings, ports={bot.port.platform: bot.port}, bank=bank)
            bot.attach(app.service)
            ticks = _TickGuard(app.dispatcher)
            ticker = Ticker(ticks, tick_seconds=settings.schedule.tick_seconds)  # type: ignore[arg-type]
            try:
                async with bot.client:
                    try:
                        await bot.client.login(token)
                    except discord.LoginFailure:
                        raise DiscordSetupError(
                            f"Discord refused the token in {TOKEN_ENV}; copy it again from the "
                            "developer portal (Bot, Reset Token)"
                        ) from None
                    if started is not None:
                        started(bot)
                    await app.service.outbox.resume_pending()
                    ticker.start()
                    with _close_on_sigterm(bot):
                        await bot.client.connect(reconnect=True)
                    await bot.drain()
            finally:
                ticker.shutdown()
                await ticks.settle()
                await app.close()
    finally:
        lock.release()
