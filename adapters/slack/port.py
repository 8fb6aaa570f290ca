"""The Slack ChatPort: messages, DMs, private answers, reactions, edits and files through
slack_sdk's AsyncWebClient.

The client carries slack_sdk's `AsyncRateLimitErrorRetryHandler`, so a 429 waits the
Retry-After Slack names and tries again; what still fails comes back as `PlatformError`:

- ``ratelimited`` -> ``retry_after`` (the core's outbox pauses Slack sends that long);
- ``channel_not_found``, ``not_in_channel``, ``is_archived`` ... -> ``channel_gone``,
  permanent: the outbox switches the channel's daily question off and tells its admin once;
- ``cannot_dm_bot``, ``user_disabled`` ... (or any failure to reach a member's DM) ->
  ``dm_closed``, permanent: the member is marked unreachable and told once;
- Slack-side outages (``internal_error``, 5xx) and network errors -> transient;
- anything else (a bad token, a missing scope) -> permanent, so nothing retries forever.

Private answers go through the interaction's response URL when there is one (it works
even where the bot is not a channel member), else `chat.postEphemeral`, else the DM.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.dm_channels import DmChannels
from adapters.platform_errors import platform_errors
from adapters.slack.render import render
from bot.commands import CORE_COMMANDS, CommandCatalog
from bot.domain.grades import Grade
from bot.events import Conversation
from bot.messages import Image, Message
from bot.ports import PlatformError, Sent

logger = logging.getLogger(__name__)

PLATFORM = "slack"

CHANNEL_GONE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
    }
)
DM_CLOSED = frozenset(
    {
        "cannot_dm_bot",
        "user_disabled",
        "user_not_found",
        "user_not_visible",
        "messages_tab_disabled",
    }
)
TRANSIENT = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)

METHOD_SCOPES: Mapping[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "conversations.open": "im:write",
    "reactions.add": "reactions:write",
    "users.info": "users:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
"""Every Web API method drillbot calls with the bot token, and the bot scope it needs.
(`apps.connections.open` uses the app-level token with `connections:write`.)"""

RESPONSE_URL_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")


def retry_handlers(*, rate_limit_retries: int = 2) -> list[AsyncRetryHandler]:
    """Reconnect on network errors; on 429 wait what Retry-After says and try again."""
    return [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
    ]


def make_client(*, token: str, base_url: str | None = None) -> AsyncWebClient:
    """The Web API client; `base_url` points it at a proxy or a local fake."""
    options: dict[str, Any] = {"token": token, "retry_handlers": retry_handlers()}
    if base_url:
        options["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
    return AsyncWebClient(**options)


def platform_error(error: Exception, *, action: str) -> PlatformError:
    """A slack_sdk or network failure as the core's PlatformError."""
    if isinstance(error, SlackApiError):
        response = error.response
        code = str(response.get("error") or "")
        status = getattr(response, "status_code", 200)
        detail = f"{action}: {code or f'HTTP {status}'}"
        if code == "ratelimited" or status == 429:
            return PlatformError(detail, retry_after=_retry_after(response))
        if code in CHANNEL_GONE:
            return PlatformError(detail, permanent=True, code="channel_gone")
        if code in DM_CLOSED:
            return PlatformError(detail, permanent=True, code="dm_closed")
        return PlatformError(detail, permanent=code not in TRANSIENT and status < 500)
    if isinstance(error, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
        return PlatformError(f"{action}: {error.__class__.__name__}: {error}")
    if isinstance(error, SlackRequestError):
        return PlatformError(f"{action}: {error}", permanent=True)
    raise error


def _retry_after(response: Any) -> float:
    headers = getattr(response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


_LIBRARY_ERRORS = (SlackApiError, SlackRequestError, aiohttp.ClientError, OSError, TimeoutError)


def _as_platform_errors(action: str):
    return platform_errors(action, caught=_LIBRARY_ERRORS, convert=platform_error)


def _dm_closed(error: PlatformError) -> PlatformError:
    """A DM that cannot be posted to means the member is out of reach, whatever Slack
    called it."""
    if error.code == "channel_gone":
        return PlatformError(str(error), permanent=True, code="dm_closed")
    return error


class SlackPort:
    """Outbound Slack I/O for the core; `grade_emoji` names the reaction hints to add."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        grade_emoji: Mapping[Grade, str],
        catalog: CommandCatalog = CORE_COMMANDS,
        response_url_hosts: Collection[str] = RESPONSE_URL_HOSTS,
        dm_cache_size: int = 100_000,
    ) -> None:
        self.client = client
        self._grade_emoji = dict(grade_emoji)
        self._catalog = catalog
        self._response_url_hosts = frozenset(response_url_hosts)
        self._dm_channels = DmChannels(open_dm=self._open_dm, size=dm_cache_size)

    # ---- the ChatPort ----------------------------------------------------------------

    async def post(
        self, *, channel_ref: str, message: Message, thread_ref: str | None = None
    ) -> Sent:
        if isinstance(message, Image):
            return await self.upload_image(
                channel_ref=channel_ref, image=message, thread_ref=thread_ref
            )
        payload = render(message, catalog=self._catalog)
        with _as_platform_errors(f"post to {channel_ref}"):
            response = await self.client.chat_postMessage(
                channel=channel_ref,
                thread_ts=thread_ref,
                unfurl_links=False,
                unfurl_media=False,
                **payload,
            )
        return Sent(
            channel_ref=str(response.get("channel") or channel_ref), message_ref=response["ts"]
        )

    async def send_dm(self, *, user_ref: str, message: Message) -> Sent:
        try:
            channel_ref = await self.dm_channel(user_ref=user_ref)
            return await self.post(channel_ref=channel_ref, message=message)
        except PlatformError as error:
            raise _dm_closed(error) from error

    async def dm_channel(self, *, user_ref: str) -> str:
        """The member's DM channel id, opened once and then cached (one call per member)."""
        return await self._dm_channels.get(user_ref)

    async def _open_dm(self, user_ref: str) -> str:
        with _as_platform_errors(f"open a DM with {user_ref}"):
            response = await self.client.conversations_open(users=user_ref)
        return str(response["channel"]["id"])

    async def reply(
        self,
        *,
        conversation: Conversation,
        user_ref: str,
        message: Message,
        ephemeral: bool = False,
    ) -> Sent | None:
        """Answer where the member asked: in the DM as a message; in a channel privately
        (response URL, then chat.postEphemeral, then the DM) unless told otherwise."""
        if isinstance(message, Image):
            target = conversation.channel_ref if conversation.is_dm else None
            if target is None:
                target = await self.dm_channel(user_ref=user_ref)
            return await self.upload_image(channel_ref=target, image=message)
        if conversation.is_dm or not ephemeral:
            try:
                return await self.post(
                    channel_ref=conversation.channel_ref,
                    message=message,
                    thread_ref=conversation.thread_ref,
                )
            except PlatformError as error:
                # A slash command in a DM between two people: the bot is not in it.
                if error.code != "channel_gone" or not conversation.is_dm:
                    raise
                logger.info("cannot answer in %s, answering privately", conversation.channel_ref)
        if await self._respond(conversation.reply_token, message):
            return None
        try:
            return await self._ephemeral(conversation, user_ref, message)
        except PlatformError as error:
            if error.code != "channel_gone":
                raise
            logger.info("cannot answer privately in %s, using the DM", conversation.channel_ref)
        return await self.send_dm(user_ref=user_ref, message=message)

    async def _respond(self, response_url: str | None, message: Message) -> bool:
        """Post an ephemeral answer to an interaction's response URL; False if there is
        none, it is not Slack's, or it no longer works (they expire after 30 minutes)."""
        if not response_url:
            return False
        if urlsplit(response_url).hostname not in self._response_url_hosts:
            logger.warning("ignoring a response URL on an unexpected host")
            return False
        payload = render(message, catalog=self._catalog)
        webhook = AsyncWebhookClient(url=response_url, retry_handlers=retry_handlers())
        try:
            response = await webhook.send(
                **payload, response_type="ephemeral", replace_original=False
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            logger.info("response URL failed (%s), answering another way", error)
            return False
        if response.status_code != 200:
            logger.info("response URL answered %s, answering another way", response.status_code)
            return False
        return True

    async def _ephemeral(self, conversation: Conversation, user_ref: str, message: Message) -> Sent:
        payload = render(message, catalog=self._catalog)
        with _as_platform_errors(f"answer privately in {conversation.channel_ref}"):
            response = await self.client.chat_postEphemeral(
                channel=conversation.channel_ref,
                user=user_ref,
                thread_ts=conversation.thread_ref,
                **payload,
            )
        return Sent(channel_ref=conversation.channel_ref, message_ref=response["message_ts"])

    async def add_reactions(
        self, *, channel_ref: str, message_ref: str, grades: Sequence[Grade]
    ) -> None:
        """The grade hints under a card; one already there is fine."""
        for grade in grades:
            try:
                with _as_platform_errors(f"react to {message_ref}"):
                    await self.client.reactions_add(
                        channel=channel_ref, timestamp=message_ref, name=self._grade_emoji[grade]
                    )
            except PlatformError as error:
                if "already_reacted" not in str(error):
                    raise

    async def update(self, *, channel_ref: str, message_ref: str, message: Message) -> None:
        """Edit one of the bot's own messages (a DM card turning into its answer)."""
        payload = render(message, catalog=self._catalog)
        with _as_platform_errors(f"edit {message_ref}"):
            await self.client.chat_update(channel=channel_ref, ts=message_ref, **payload)

    async def upload_image(
        self, *, channel_ref: str, image: Image, thread_ref: str | None = None
    ) -> Sent:
        """A chart as a file in the conversation (files.getUploadURLExternal, the upload,
        files.completeUploadExternal). The file id stands in for a message ref."""
        with _as_platform_errors(f"upload {image.filename} to {channel_ref}"):
            response = await self.client.files_upload_v2(
                channel=channel_ref,
                content=image.png,
                filename=image.filename,
                title=image.title or image.filename,
                thread_ts=thread_ref,
            )
        files = response.get("files") or [{}]
        file_id = str(files[0].get("id") or response.get("file", {}).get("id") or "")
        return Sent(channel_ref=channel_ref, message_ref=file_id)
