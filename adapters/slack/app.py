"""The Slack side of drillbot: a slack-bolt `AsyncApp` whose listeners hand everything to
the core as events.

- `/drill` runs every core command as a subcommand; the same text works typed in the
  bot's DM or after a mention. A command that does not parse gets a private usage hint.
- Card buttons (`block_actions`) and grade reactions (`reaction_added` /
  `reaction_removed`) become button and reaction events.
- Every listener translates, fills in the member's timezone and admin flag (a cached
  `users.info`, waited on for at most a second), stores the event in the core's inbound
  journal, and only then acknowledges: an acknowledged event is never lost, even to a
  crash. The work runs in a task after the acknowledgement, so Slack hears back well
  within its 3 seconds. A retried delivery carries the same event id and is not stored
  twice. When the database cannot store it, Slack gets a 503 and retries.
- HTTP mode: bolt verifies every request's signature and timestamp (401 otherwise, logged
  without the body); a body that is not something Slack sends gets 400.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import DBAPIError, OperationalError

from adapters.slack.port import SlackPort
from adapters.slack.render import CARD_ACTION, SLASH_COMMAND, render
from adapters.slack.translate import (
    MalformedPayload,
    Profile,
    SlackContext,
    malformed_reason,
    nesting_depth_over,
    profile_from_user,
    slack_vocabulary,
    translate,
    with_profile,
)
from bot.commands import CORE_COMMANDS, CommandCatalog, UsageError
from bot.config import Settings
from bot.events import Conversation, Event
from bot.inbound.journal import actor_key
from bot.messages import Text
from bot.ops.logs import OncePerInterval
from bot.service import DrillService

logger = logging.getLogger(__name__)

BOT_EVENTS: Mapping[str, str] = {
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
    "message.im": "im:history",
    "app_mention": "app_mentions:read",
}
"""The bot events the app subscribes to (manifest `bot_events`) and the scope each needs."""

SLASH_COMMAND_SCOPE = "commands"
HINTS_REMEMBERED = 10_000
# How long storing an event waits for the member's profile: Slack wants its answer
# within 3 seconds, and the profile is cached after the first event.
PROFILE_WAIT_SECONDS = 1.0
STALE_BUTTON_TEXT = (
    "That button is from an older card (or not one of drillbot's). /drill gets you fresh questions."
)
# Slack's payloads nest a dozen levels at most; a body nested deeper is not Slack's.
MAX_NESTING = 64


# ---- request checks ----------------------------------------------------------------------


class QuietRequestVerification(AsyncRequestVerification):
    """Bolt's signature and timestamp check, logging a rejection without the body (bolt's
    own log line includes it, and a forged body is not worth keeping)."""

    def _debug_log_error(self, signature: str, timestamp: str, body: Any) -> None:
        logger.warning("rejected a request with a bad or stale signature (timestamp %s)", timestamp)


async def reject_malformed(
    req: AsyncBoltRequest, next: Callable[[], Awaitable[BoltResponse]]
) -> BoltResponse:
    """Runs after the signature check: a signed body Slack would never send gets 400."""
    reason = malformed_reason(req.body)
    if reason is not None:
        logger.warning("rejected a malformed request: %s", reason)
        return BoltResponse(status=400, body={"error": "malformed request"})
    return await next()


class _SkipTokenNotice(logging.Filter):
    """bolt notes that SLACK_BOT_TOKEN goes unused when it is handed a client; the client
    is built from that very token, so the note would only puzzle whoever reads the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def bolt_logger() -> logging.Logger:
    """The logger bolt's own messages go to (`adapters.slack.bolt`)."""
    bolt = logging.getLogger(f"{__name__.rsplit('.', 1)[0]}.bolt")
    if not any(isinstance(f, _SkipTokenNotice) for f in bolt.filters):
        bolt.addFilter(_SkipTokenNotice())
    return bolt


# ---- members -----------------------------------------------------------------------------


class SlackUsers:
    """`users.info`, cached: a member's name, timezone and admin flag rarely change, and
    every event would otherwise cost a call."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        ttl_seconds: float = 3600.0,
        max_size: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._max_size = max_size
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, Profile]] = {}
        self._pending: dict[str, asyncio.Future[Profile | None]] = {}

    async def profile(self, user_ref: str) -> Profile | None:
        cached = self._cache.get(user_ref)
        if cached is not None and self._monotonic() - cached[0] < self._ttl:
            return cached[1]
        pending = self._pending.get(user_ref)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(user_ref))
            self._pending[user_ref] = pending
            pending.add_done_callback(lambda _: self._pending.pop(user_ref, None))
        found = await asyncio.shield(pending)
        if found is None and cached is not None:
            return cached[1]  # Slack is unreachable: an old answer beats none
        return found

    async def _lookup(self, user_ref: str) -> Profile | None:
        try:
            response = await self._client.users_info(user=user_ref)
        except (SlackApiError, OSError, TimeoutError) as error:
            logger.warning("users.info for %s failed: %s", user_ref, _error_code(error))
            return None
        user = response.get("user")
        if not isinstance(user, Mapping):
            return None
        profile = profile_from_user(user)
        if len(self._cache) >= self._max_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[user_ref] = (self._monotonic(), profile)
        return profile


def _error_code(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "error")
    return error.__class__.__name__


# ---- the app -----------------------------------------------------------------------------


class SlackBot:
    """The bolt app, wired to a running core through `service` and `port`."""

    def __init__(
        self,
        *,
        settings: Settings,
        service: DrillService,
        port: SlackPort,
        signing_secret: str | None = None,
        bot_user_id: str | None = None,
        catalog: CommandCatalog = CORE_COMMANDS,
        users: SlackUsers | None = None,
    ) -> None:
        self.service = service
        self.port = port
        self.catalog = catalog
        self.bot_user_id = bot_user_id
        self.users = users or SlackUsers(client=port.client)
        self._vocabulary = slack_vocabulary(settings)
        self._admin_user_ids = frozenset(settings.slack.admin_user_ids)
        self._signing_secret = signing_secret or ""
        self._verification = QuietRequestVerification(self._signing_secret)
        self._tasks: set[asyncio.Task[None]] = set()
        self._hinted: OrderedDict[str, None] = OrderedDict()
        self._rejections = OncePerInterval(logger)
        self.app = AsyncApp(
            name="drillbot",
            logger=bolt_logger(),
            client=port.client,
            signing_secret=signing_secret or "",
            request_verification_enabled=False,
            before_authorize=self._verification if signing_secret else None,
            # Listeners only translate and start a task, so running them before the
            # response costs nothing and the task exists once Slack has its answer.
            process_before_response=True,
        )
        self.app.use(reject_malformed)
        self.app.command(SLASH_COMMAND)(self._on_command)
        self.app.action(CARD_ACTION)(self._on_action)
        # Any other button (a card from an older version, a garbled id) is answered too:
        # unanswered, Slack shows the member a warning.
        self.app.action(re.compile(".*"))(self._on_unknown_action)
        for name in BOT_EVENTS:
            self.app.event(name.split(".")[0])(self._on_event)

    def context(self, bolt_context: Mapping[str, Any] | None = None) -> SlackContext:
        bot_user_id = (bolt_context or {}).get("bot_user_id") or self.bot_user_id
        return SlackContext(
            vocabulary=self._vocabulary,
            catalog=self.catalog,
            bot_user_id=bot_user_id,
            admin_user_ids=self._admin_user_ids,
        )

    # ---- listeners: translate, start the work, acknowledge ----------------------------

    async def _on_command(self, ack, body: dict[str, Any], context) -> BoltResponse | None:
        try:
            event = translate(body, context=self.context(context))
        except UsageError as error:
            await ack(
                **render(Text(text=f"⚠ {error}"), catalog=self.catalog), response_type="ephemeral"
            )
            return None
        except MalformedPayload as error:
            return _bad_request(error)
        if event is not None and not await self._receive(event):
            return _unavailable()
        await ack()
        return None

    async def _on_action(self, ack, body: dict[str, Any], context) -> BoltResponse | None:
        try:
            event = translate(body, context=self.context(context))
        except MalformedPayload as error:
            return _bad_request(error)
        if event is not None and not await self._receive(event):
            return _unavailable()
        await ack()
        return None

    async def _on_unknown_action(self, ack, respond) -> None:
        await ack()
        try:
            await respond(text=STALE_BUTTON_TEXT, response_type="ephemeral", replace_original=False)
        except Exception as error:  # the response URL may be gone; the ack is what counts
            logger.info("could not answer an unknown button: %s", error)

    async def _on_event(self, body: dict[str, Any], context) -> BoltResponse | None:
        """Events are acknowledged by bolt once this returns."""
        try:
            event = translate(body, context=self.context(context))
        except MalformedPayload as error:
            return _bad_request(error)
        except UsageError as error:
            if self._first_hint(str(body.get("event_id") or "")):
                self._spawn(self._hint(body, str(error)))
            return None
        if event is not None and not await self._receive(event):
            return _unavailable()
        return None

    # ---- storing before the acknowledgement, the work after it ------------------------

    async def _receive(self, event: Event) -> bool:
        """Store the event (with the member's profile) in the journal, and start
        processing it; False when it could not be stored, so Slack must retry."""
        try:
            profile = await asyncio.wait_for(
                self.users.profile(event.actor.user_ref), PROFILE_WAIT_SECONDS
            )
        except TimeoutError:
            profile = None  # stored without it: a new member starts in the team's zone
        event = with_profile(event, profile)
        try:
            stored = await self.service.receive(event)
        except (OperationalError, DBAPIError, OSError) as error:
            logger.error("could not store %s %s: %s", type(event).__name__, event.event_id, error)
            return False
        if stored:
            self._spawn(self._process(actor_key(event.actor)))
        return True

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the work already started (tests, and a graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _process(self, key: str) -> None:
        try:
            await self.service.process_pending(key)
        except Exception:  # one bad event must not take the app down; the tick retries
            logger.exception("could not process the events of %s", key)

    def _first_hint(self, event_id: str) -> bool:
        """The core dedupes events it handles; a usage hint never reaches it, so a retried
        delivery of the same typo is recognised here (per process, which is enough)."""
        if event_id in self._hinted:
            return False
        self._hinted[event_id] = None
        if len(self._hinted) > HINTS_REMEMBERED:
            self._hinted.popitem(last=False)
        return True

    async def _hint(self, body: Mapping[str, Any], hint: str) -> None:
        """A command typed in the DM or after a mention did not parse: say how to fix it,
        privately in a channel."""
        event = body.get("event") or {}
        channel, user = event.get("channel"), event.get("user")
        if not channel or not user:
            return
        conversation = Conversation(
            channel_ref=channel,
            is_dm=str(channel).startswith("D"),
            thread_ref=event.get("thread_ts") or None,
        )
        try:
            await self.port.reply(
                conversation=conversation,
                user_ref=user,
                message=Text(text=f"⚠ {hint}"),
                ephemeral=not conversation.is_dm,
            )
        except Exception:
            logger.exception("could not send a usage hint in %s", channel)

    # ---- transports ---------------------------------------------------------------------

    def web_app(self, *, path: str) -> web.Application:
        """The aiohttp app for HTTP mode: Slack posts events, commands and interactions to
        `path`. Replicas behind a load balancer share nothing but the database."""
        if not self._signing_secret:
            raise ValueError("HTTP mode needs the signing secret to verify requests")
        application = web.Application()
        application.router.add_post(path, self._http)
        return application

    async def _http(self, request: web.Request) -> web.Response:
        """Slack's request, checked in the order that costs an attacker the most: the
        size (aiohttp's limit), then the timestamp and signature, then the nesting depth
        before anything is parsed, then the shape before bolt's middleware reads it."""
        raw = await request.read()
        headers = request.headers
        timestamp = headers.get("X-Slack-Request-Timestamp", "").strip()
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp.isdigit() or not self._verification.verifier.is_valid(
            raw, timestamp, signature
        ):
            self._rejections.warning(
                "signature", "rejected a request with a bad, stale or missing signature"
            )
            return web.json_response({"error": "invalid request"}, status=401)
        text = raw.decode("utf-8", errors="replace")
        if nesting_depth_over(_json_part(text), MAX_NESTING):
            self._rejections.warning("nesting", "rejected a request nested too deep to parse")
            return web.json_response({"error": "malformed request"}, status=400)
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
            self._rejections.warning("parse", "rejected a request whose body does not parse")
            return web.json_response({"error": "malformed request"}, status=400)
        reason = malformed_reason(bolt_request.body)
        if reason is not None:
            self._rejections.warning(f"shape:{reason}", "rejected a malformed request: %s", reason)
            return web.json_response({"error": "malformed request"}, status=400)
        response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    def socket_mode(self, *, app_token: str) -> AsyncSocketModeHandler:
        """Socket Mode: Slack pushes the same payloads over a WebSocket the app opens."""
        return CheckedSocketModeHandler(
            self.app, app_token, web_client=self.port.client, rejections=self._rejections
        )


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode with the HTTP endpoint's shape check: an envelope whose payload
    bolt's middleware cannot read is acknowledged (Slack would only send it again) and
    logged, instead of failing inside bolt with a traceback."""

    def __init__(self, *args: Any, rejections: OncePerInterval, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rejections = rejections

    async def handle(self, client: Any, req: SocketModeRequest) -> None:
        reason = malformed_reason(req.payload)
        if reason is None:
            await super().handle(client, req)
            return
        self._rejections.warning(
            f"socket:{reason}", "rejected a malformed Socket Mode envelope: %s", reason
        )
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


def _json_part(body: str) -> str:
    """The JSON a body carries: itself, or an interaction form's `payload` field."""
    if body.lstrip().startswith(("{", "[")):
        return body
    return " ".join(parse_qs(body).get("payload", []))


def _unavailable() -> BoltResponse:
    return BoltResponse(status=503, body={"error": "could not store the event; retry"})


def _bad_request(error: MalformedPayload) -> BoltResponse:
    logger.warning("rejected a malformed request: %s", error)
    return BoltResponse(status=400, body={"error": "malformed request"})
