"""`drillbot run --platform slack`: the port, the core, the tick and the bolt app in one loop.

Settings come from drillbot.yaml (`slack:`); secrets only from the environment:

- ``SLACK_BOT_TOKEN``: the bot token, ``xoxb-...`` (both modes).
- ``SLACK_APP_TOKEN``: an app-level token, ``xapp-...``, with ``connections:write``
  (Socket Mode).
- ``SLACK_SIGNING_SECRET``: the app's signing secret (HTTP mode).
- ``DRILLBOT_SLACK_API_URL`` (optional): the Web API base URL instead of
  https://slack.com/api/, for a proxy or a local fake; response URLs on its host are
  accepted too.

None of them is ever logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from slack_sdk.errors import SlackApiError

from adapters.slack.app import SlackBot
from adapters.slack.port import RESPONSE_URL_HOSTS, SlackPort, make_client
from bank.loader import Bank
from bot.config import Settings
from bot.domain.grades import Grade
from bot.ops.serving import ServeOptions, Serving, serving

logger = logging.getLogger(__name__)

BOT_TOKEN_ENV = "SLACK_BOT_TOKEN"
APP_TOKEN_ENV = "SLACK_APP_TOKEN"
SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"
API_URL_ENV = "DRILLBOT_SLACK_API_URL"
MODES = ("socket", "http")


class SlackSetupError(Exception):
    """The Slack settings or environment cannot work; the message says what to change."""


@dataclass(frozen=True)
class Credentials:
    bot_token: str
    app_token: str | None
    signing_secret: str | None

    def __repr__(self) -> str:  # never print a secret, even by accident
        return "Credentials(...)"


def read_credentials(env: Mapping[str, str], *, mode: str) -> Credentials:
    """The tokens `mode` needs, or SlackSetupError naming the missing variable."""
    bot_token = (env.get(BOT_TOKEN_ENV) or "").strip()
    app_token = (env.get(APP_TOKEN_ENV) or "").strip() or None
    secret = (env.get(SIGNING_SECRET_ENV) or "").strip() or None
    if not bot_token:
        raise SlackSetupError(
            f"set {BOT_TOKEN_ENV} to the bot token (api.slack.com/apps, your app, "
            "OAuth & Permissions, Bot User OAuth Token, xoxb-...)"
        )
    if mode == "socket" and not app_token:
        raise SlackSetupError(
            f"Socket Mode needs {APP_TOKEN_ENV}: an app-level token with connections:write "
            "(Basic Information, App-Level Tokens, xapp-...); or run with --slack-mode http"
        )
    if mode == "http" and not secret:
        raise SlackSetupError(
            f"HTTP mode needs {SIGNING_SECRET_ENV} (Basic Information, App Credentials, "
            "Signing Secret) to verify that requests come from Slack"
        )
    return Credentials(bot_token=bot_token, app_token=app_token, signing_secret=secret)


def grade_emoji(settings: Settings) -> dict[Grade, str]:
    return {Grade(name): emoji for name, emoji in settings.slack.grade_emoji.items()}


async def serve_slack(
    *,
    settings: Settings,
    mode: str | None = None,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    bank: Bank | None = None,
    host: str = "0.0.0.0",
    options: ServeOptions | None = None,
    stop: asyncio.Event | None = None,
    started: Callable[[SlackBot], None] | None = None,
) -> None:
    """Serve Slack until SIGTERM, Ctrl-C or `stop` is set.

    `mode` and `port` default to `slack.mode` and `slack.http_port`; `started` is called
    with the bot once it listens (tests use it).
    """
    env = os.environ if env is None else env
    mode = mode or settings.slack.mode
    if mode not in MODES:
        raise SlackSetupError(f"unknown Slack mode {mode!r}; use socket or http")
    credentials = read_credentials(env, mode=mode)
    api_url = (env.get(API_URL_ENV) or "").strip() or None
    client = make_client(token=credentials.bot_token, base_url=api_url)
    identity = await _identify(client)
    hosts = set(RESPONSE_URL_HOSTS)
    if api_url:
        hosts.add(urlsplit(api_url).hostname or "")
    slack_port = SlackPort(
        client=client, grade_emoji=grade_emoji(settings), response_url_hosts=hosts
    )
    async with serving(
        settings, ports={slack_port.platform: slack_port}, options=options, bank=bank
    ) as running:
        bot = SlackBot(
            settings=settings,
            service=running.app.service,
            port=slack_port,
            signing_secret=credentials.signing_secret,
            bot_user_id=identity.get("user_id"),
        )

        async def until_stopped() -> None:
            """SIGTERM / Ctrl-C, or the caller's own `stop`."""
            await running.until_stopped(stop.wait() if stop else running.stopping.wait())

        try:
            if mode == "http":
                await _serve_http(
                    bot,
                    host=host,
                    port=port or settings.slack.http_port,
                    path=settings.slack.http_path,
                    running=running,
                    until_stopped=until_stopped,
                    started=started,
                )
            else:
                await _serve_socket(
                    bot,
                    app_token=credentials.app_token or "",
                    running=running,
                    until_stopped=until_stopped,
                    started=started,
                )
        finally:
            await bot.drain()


async def _identify(client) -> dict:
    """auth.test: checks the token before anything listens, and names the bot user."""
    try:
        response = await client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error") or "error"
        raise SlackSetupError(
            f"Slack refused {BOT_TOKEN_ENV} ({code}); copy the Bot User OAuth Token again "
            "from OAuth & Permissions, and reinstall the app if its scopes changed"
        ) from None
    except OSError as error:
        raise SlackSetupError(f"cannot reach the Slack Web API: {error}") from None
    logger.info(
        "connected to Slack workspace %s as %s (%s)",
        response.get("team") or response.get("team_id"),
        response.get("user"),
        response.get("user_id"),
    )
    return dict(response.data) if isinstance(response.data, dict) else {}


async def _serve_http(
    bot: SlackBot,
    *,
    host: str,
    port: int,
    path: str,
    running: Serving,
    until_stopped: Callable[[], Awaitable[None]],
    started: Callable[[SlackBot], None] | None,
) -> None:
    runner = web.AppRunner(bot.web_app(path=path), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            raise SlackSetupError(f"cannot listen on {host}:{port}: {error.strerror}") from None
        logger.info("Slack HTTP mode: listening on %s:%d%s", host, port, path)
        await _connected_until_stopped(
            bot, running, up=lambda: True, until_stopped=until_stopped, started=started
        )
    finally:
        await runner.cleanup()


async def _serve_socket(
    bot: SlackBot,
    *,
    app_token: str,
    running: Serving,
    until_stopped: Callable[[], Awaitable[None]],
    started: Callable[[SlackBot], None] | None,
) -> None:
    handler = bot.socket_mode(app_token=app_token)
    try:
        try:
            await handler.connect_async()
        except SlackApiError as error:
            code = error.response.get("error") or "error"
            raise SlackSetupError(
                f"Slack refused {APP_TOKEN_ENV} ({code}); it must be an app-level token with "
                "connections:write, and Socket Mode must be on for the app"
            ) from None
        logger.info("Slack Socket Mode: connected")
        await _connected_until_stopped(
            bot,
            running,
            up=lambda: not handler.client.closed,
            until_stopped=until_stopped,
            started=started,
        )
    finally:
        await handler.close_async()


async def _connected_until_stopped(
    bot: SlackBot,
    running: Serving,
    *,
    up: Callable[[], bool],
    until_stopped: Callable[[], Awaitable[None]],
    started: Callable[[SlackBot], None] | None,
) -> None:
    """Serve until a stop, with /readyz reading `up` for the Slack connection meanwhile."""
    running.connected["slack"] = up
    try:
        if started is not None:
            started(bot)
        await until_stopped()
    finally:
        running.connected["slack"] = lambda: False
