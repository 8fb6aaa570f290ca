"""The Discord ChatPort: messages, DMs, reactions, edits and files through discord.py.

Everything goes through discord.py's public objects (partial messageables and messages,
the interaction's followup webhook), so its per-route rate limiting and Retry-After
handling apply to every call. What it cannot absorb comes back as `PlatformError`:

- 50007 (the member does not accept DMs) -> ``dm_closed``, permanent;
- missing access / permissions, unknown channel -> ``channel_gone``, permanent;
- 429 with a wait longer than the client will sleep -> ``retry_after``;
- 5xx and network errors -> transient; other 4xx -> permanent.

Every send carries a nonce with ``enforce_nonce``: when a send is retried (by discord.py
after a 5xx, or by the outbox after a crash) within Discord's nonce window, Discord
returns the message it already created instead of posting it twice. A card's (and a
review digest's) nonce is derived from its post id for exactly that reason.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord

from adapters.discord.render import render
from adapters.dm_channels import DmChannels
from adapters.platform_errors import platform_errors
from bot.domain.grades import Grade
from bot.events import Conversation
from bot.messages import Image, Message, QuestionCard, ReviewDigest
from bot.ports import PlatformError, Sent

logger = logging.getLogger(__name__)

DM_CLOSED_CODES = frozenset({50007})
CHANNEL_GONE_CODES = frozenset({10003, 50001, 50013})
UNKNOWN_INTERACTION_CODES = frozenset({10015, 10062})

NO_MENTIONS = discord.AllowedMentions.none()

PERMISSIONS_USED: Mapping[str, discord.Permissions] = {
    "see the channels it posts in": discord.Permissions(view_channel=True),
    "post daily questions, notices and charts": discord.Permissions(send_messages=True),
    "post in a thread when a daily question is set there": discord.Permissions(
        send_messages_in_threads=True
    ),
    "show cards, answers and leaderboards as embeds": discord.Permissions(embed_links=True),
    "attach charts": discord.Permissions(attach_files=True),
    "add the 🟢 🟡 🔴 grade hints to cards": discord.Permissions(add_reactions=True),
    "react to and reply under its own earlier posts": discord.Permissions(
        read_message_history=True
    ),
}
"""Every guild permission the port's calls need, and why: the invite asks for exactly these."""


def platform_error(error: Exception, *, action: str) -> PlatformError:
    """A discord.py or network failure as the core's PlatformError."""
    if isinstance(error, discord.RateLimited):
        return PlatformError(
            f"{action}: rate limited for {error.retry_after:.1f}s", retry_after=error.retry_after
        )
    if isinstance(error, discord.HTTPException):
        detail = f"{action}: {error.status} {error.text or error.__class__.__name__}"
        if error.code:
            detail += f" (code {error.code})"
        if error.code in DM_CLOSED_CODES:
            return PlatformError(detail, permanent=True, code="dm_closed")
        if error.code in CHANNEL_GONE_CODES or (error.status == 404 and not error.code):
            return PlatformError(detail, permanent=True, code="channel_gone")
        if error.status == 429:
            return PlatformError(detail, retry_after=_retry_after(error))
        return PlatformError(detail, permanent=error.status < 500)
    if isinstance(error, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
        return PlatformError(f"{action}: {error.__class__.__name__}: {error}")
    if isinstance(error, ValueError):
        return PlatformError(f"{action}: {error}", permanent=True)
    raise error


def _retry_after(error: discord.HTTPException) -> float:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        return float(headers.get("Retry-After", 1.0))
    except (TypeError, ValueError):
        return 1.0


_LIBRARY_ERRORS = (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError, ValueError)


def _as_platform_errors(action: str):
    return platform_errors(action, caught=_LIBRARY_ERRORS, convert=platform_error)


def snowflake(ref: str) -> int:
    """A Discord id from a ref the core hands back; anything else is a permanent error."""
    if not ref.isdigit():
        raise ValueError(f"{ref!r} is not a Discord id")
    return int(ref)


@dataclass
class _OpenInteraction:
    """An interaction the core is answering: its first reply fills the deferred response."""

    interaction: discord.Interaction
    fills_original: bool
    replied: bool = False


class DiscordPort:
    """Outbound Discord I/O for the core; the client is shared with the gateway side."""

    platform = "discord"

    def __init__(
        self,
        *,
        client: discord.Client,
        renames: Mapping[str, str] | None = None,
        dm_cache_size: int = 100_000,
    ) -> None:
        self._client = client
        self._renames = dict(renames or {})
        self._dm_channels = DmChannels(open_dm=self._open_dm, size=dm_cache_size)
        self._interactions: dict[str, _OpenInteraction] = {}

    # ---- interactions the app is answering --------------------------------------------

    def open_interaction(self, interaction: discord.Interaction, *, fills_original: bool) -> None:
        """Route the core's replies for this interaction through its token.

        `fills_original`: a slash command deferred with "thinking", whose first reply
        replaces the loading message; a button press instead answers with followups.
        """
        self._interactions[interaction.token] = _OpenInteraction(
            interaction=interaction, fills_original=fills_original
        )

    async def close_interaction(self, interaction: discord.Interaction) -> None:
        """Forget the interaction; a "thinking" message nobody answered is removed."""
        state = self._interactions.pop(interaction.token, None)
        if state is None or state.replied or not state.fills_original:
            return
        try:
            await interaction.delete_original_response()
        except discord.HTTPException as error:
            logger.info("could not clear an unanswered interaction: %s", error)

    # ---- the ChatPort ----------------------------------------------------------------

    async def post(
        self, *, channel_ref: str, message: Message, thread_ref: str | None = None
    ) -> Sent:
        """Needs view_channel and send_messages (send_messages_in_threads in a thread),
        embed_links for embeds, attach_files for images, read_message_history to reply
        under `thread_ref`."""
        rendered = render(message, renames=self._renames)
        with _as_platform_errors(f"post to {channel_ref}"):
            channel = self._client.get_partial_messageable(snowflake(channel_ref))
            kwargs = rendered.send_kwargs()
            if thread_ref is not None:
                kwargs["reference"] = discord.MessageReference(
                    message_id=snowflake(thread_ref),
                    channel_id=channel.id,
                    fail_if_not_exists=False,
                )
                kwargs["mention_author"] = False
            sent = await channel.send(
                **kwargs, nonce=self._nonce(message), allowed_mentions=NO_MENTIONS
            )
            _release(kwargs)
        return Sent(channel_ref=str(sent.channel.id), message_ref=str(sent.id))

    async def send_dm(self, *, user_ref: str, message: Message) -> Sent:
        channel_ref = await self.dm_channel(user_ref=user_ref)
        return await self.post(channel_ref=channel_ref, message=message)

    async def dm_channel(self, *, user_ref: str) -> str:
        """The member's DM channel id, opened once and then cached (one call per member)."""
        return await self._dm_channels.get(user_ref)

    async def _open_dm(self, user_ref: str) -> str:
        with _as_platform_errors(f"open a DM with {user_ref}"):
            channel = await self._client.create_dm(discord.Object(id=snowflake(user_ref)))
        return str(channel.id)

    async def reply(
        self,
        *,
        conversation: Conversation,
        user_ref: str,
        message: Message,
        ephemeral: bool = False,
    ) -> Sent | None:
        """Answer where the member asked: through the interaction when there is one
        (ephemeral in channels), else in the DM, or by DM for a private answer to
        something done in a channel (a reaction has no private reply in Discord)."""
        state = self._interactions.get(conversation.reply_token or "")
        if state is not None:
            sent = await self._reply_to_interaction(state, conversation, message, ephemeral)
            if sent is not None:
                return sent
        if ephemeral and not conversation.is_dm:
            return await self.send_dm(user_ref=user_ref, message=message)
        return await self.post(channel_ref=conversation.channel_ref, message=message)

    async def _reply_to_interaction(
        self,
        state: _OpenInteraction,
        conversation: Conversation,
        message: Message,
        ephemeral: bool,
    ) -> Sent | None:
        rendered = render(message, renames=self._renames)
        interaction = state.interaction
        try:
            if state.fills_original and not state.replied:
                kwargs = rendered.edit_kwargs()
                sent = await interaction.edit_original_response(
                    **kwargs, allowed_mentions=NO_MENTIONS
                )
            else:
                kwargs = rendered.send_kwargs()
                sent = await interaction.followup.send(
                    **kwargs, ephemeral=ephemeral, wait=True, allowed_mentions=NO_MENTIONS
                )
        except discord.HTTPException as error:
            if error.code in UNKNOWN_INTERACTION_CODES or error.status == 404:
                # The interaction expired (15 minutes) or never got deferred: answer
                # the ordinary way instead of losing the reply.
                logger.info("interaction gone, replying without it: %s", error)
                self._interactions.pop(interaction.token, None)
                return None
            raise platform_error(error, action="reply to an interaction") from error
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise platform_error(error, action="reply to an interaction") from error
        state.replied = True
        _release(kwargs)
        return Sent(channel_ref=conversation.channel_ref, message_ref=str(sent.id))

    async def add_reactions(
        self, *, channel_ref: str, message_ref: str, grades: Sequence[Grade]
    ) -> None:
        """Needs add_reactions and read_message_history (to react to a message)."""
        with _as_platform_errors(f"react to {message_ref}"):
            channel = self._client.get_partial_messageable(snowflake(channel_ref))
            target = channel.get_partial_message(snowflake(message_ref))
            for grade in grades:
                await target.add_reaction(grade.emoji)

    async def update(self, *, channel_ref: str, message_ref: str, message: Message) -> None:
        """Edit one of the bot's own messages (a card turning into its answer)."""
        rendered = render(message, renames=self._renames)
        with _as_platform_errors(f"edit {message_ref}"):
            channel = self._client.get_partial_messageable(snowflake(channel_ref))
            kwargs = rendered.edit_kwargs()
            await channel.get_partial_message(snowflake(message_ref)).edit(
                **kwargs, allowed_mentions=NO_MENTIONS
            )
            _release(kwargs)

    async def upload_image(
        self, *, channel_ref: str, image: Image, thread_ref: str | None = None
    ) -> Sent:
        return await self.post(channel_ref=channel_ref, message=image, thread_ref=thread_ref)

    # ---- helpers ---------------------------------------------------------------------

    @staticmethod
    def _nonce(message: Message) -> str:
        """At most 25 characters. A card's or digest's is stable across retries of the same
        post; a digest's differs from a card's, so a digest is never taken for a card that
        went out under its first item's post id."""
        if isinstance(message, QuestionCard):
            return f"card-{message.post_id}"
        if isinstance(message, ReviewDigest):
            return f"rev-{message.post_id}"
        return uuid.uuid4().hex[:25]


def _release(kwargs: dict[str, Any]) -> None:
    """Stop a sent view: its buttons are DynamicItems, matched by custom id, so nothing
    needs to stay in memory per message."""
    view = kwargs.get("view")
    if isinstance(view, discord.ui.View):
        view.stop()
