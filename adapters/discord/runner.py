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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.app import DiscordBot, DiscordSetupError
from bank.loader import Bank
from bot.config import Settings
from bot.ops.serving import ServeOptions, serving

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
    options: ServeOptions | None = None,
    client_options: Mapping[str, Any] | None = None,
    started: Callable[[DiscordBot], None] | None = None,
) -> None:
    """Serve Discord until the client closes, SIGTERM or Ctrl-C.

    `started` is called with the bot once it has logged in and synced its commands,
    before the gateway connects: tests use it to close the bot again.
    """
    env = os.environ if env is None else env
    token = read_token(env)
    gateway_url = env.get(GATEWAY_URL_ENV) or None
    with discord_endpoints(api_url=env.get(API_URL_ENV) or None, gateway_url=gateway_url):
        bot = DiscordBot(settings=settings, client_options=client_options)
        if gateway_url:
            pin_gateway(bot.client, gateway_url)
        async with serving(
            settings, ports={bot.port.platform: bot.port}, options=options, bank=bank
        ) as running:
            bot.attach(running.app.service)
            running.connected["discord"] = lambda: (
                bot.client.is_ready() and not (bot.client.is_closed())
            )
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
                closer = asyncio.ensure_future(_close_when_stopping(bot, running.stopping))
                try:
                    await bot.client.connect(reconnect=True)
                finally:
                    if running.stopping.is_set():
                        await closer  # it is closing the client: let it finish
                    else:
                        closer.cancel()
                await bot.drain()


async def _close_when_stopping(bot: DiscordBot, stopping: asyncio.Event) -> None:
    """A stop (SIGTERM, Ctrl-C) lets the events being handled finish, then closes the
    gateway; the tick then drains as `serving` exits (a cut-off send resumes next start)."""
    await stopping.wait()
    logger.info("stopping: finishing what is in hand, then closing the Discord connection")
    await bot.drain(grace=10.0)
    await bot.client.close()
