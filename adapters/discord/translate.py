"""discord.py objects -> core events. Pure: no I/O, no clock, no client.

The objects come from discord.py's own gateway parsing (`RawReactionActionEvent`,
`Interaction`); only their plain attributes are read, so these functions work the same
on cached and uncached messages.

A Discord deployment is one drillbot team (`team_ref`, the application id): members are
Discord users wherever they talk to the bot, so a card sent by DM after `/drill` in a
server is graded in the DM by the same member.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from adapters.discord.render import CARD_BUTTON_TEMPLATE
from bot.domain.grades import Grade, GradeVocabulary
from bot.events import (
    Actor,
    ButtonPressed,
    CommandInvoked,
    Conversation,
    ReactionAdded,
    ReactionRemoved,
)

PLATFORM = "discord"

_CARD_BUTTON = re.compile(CARD_BUTTON_TEMPLATE)


def parse_card_button(custom_id: str) -> tuple[str, int] | None:
    """(action, post id) from a card button's custom id, or None for anything else."""
    match = _CARD_BUTTON.fullmatch(custom_id)
    if match is None:
        return None
    return match["action"], int(match["post_id"])


def interaction_actor(interaction: Any, *, team_ref: str, admin_user_ids: Collection[int]) -> Actor:
    """Who pressed or typed: admins hold Manage Server here, or are listed in the config."""
    user = interaction.user
    permissions = interaction.permissions
    in_guild = interaction.guild_id is not None
    is_admin = user.id in admin_user_ids or (
        in_guild and bool(permissions.manage_guild or permissions.administrator)
    )
    return Actor(
        platform=PLATFORM,
        team_ref=team_ref,
        user_ref=str(user.id),
        display_name=user.display_name,
        is_admin=is_admin,
    )


def interaction_conversation(interaction: Any) -> Conversation:
    """Where the interaction happened; its token lets the port answer privately there."""
    return Conversation(
        channel_ref=str(interaction.channel_id),
        is_dm=interaction.guild_id is None,
        reply_token=interaction.token,
    )


def command_event(
    interaction: Any,
    *,
    command: str,
    args: Mapping[str, Any],
    team_ref: str,
    admin_user_ids: Collection[int],
) -> CommandInvoked:
    return CommandInvoked(
        event_id=f"interaction:{interaction.id}",
        actor=interaction_actor(interaction, team_ref=team_ref, admin_user_ids=admin_user_ids),
        conversation=interaction_conversation(interaction),
        command=command,
        args=dict(args),
    )


def button_event(
    interaction: Any,
    *,
    action: str,
    post_id: int,
    team_ref: str,
    admin_user_ids: Collection[int],
) -> ButtonPressed:
    message = interaction.message
    grade = None if action == "reveal" else Grade(action)
    return ButtonPressed(
        event_id=f"interaction:{interaction.id}",
        actor=interaction_actor(interaction, team_ref=team_ref, admin_user_ids=admin_user_ids),
        conversation=interaction_conversation(interaction),
        message_ref=str(message.id) if message is not None else "",
        post_id=post_id,
        action="reveal" if grade is None else "grade",
        grade=grade,
    )


def reaction_event(
    payload: Any,
    *,
    bot_user_id: int | None,
    vocabulary: GradeVocabulary,
    team_ref: str,
    admin_user_ids: Collection[int],
    event_id: str,
) -> ReactionAdded | ReactionRemoved | None:
    """A raw reaction add or remove as a grade event; None for the bot's own reactions and
    for emoji that name no grade.

    `event_id` should identify the gateway delivery (session and sequence), so the same
    dispatch replayed after a resume is recognised while a member reacting 🟢 again after
    taking it back is not mistaken for a replay.
    """
    if bot_user_id is not None and payload.user_id == bot_user_id:
        return None
    grade = _grade_of(payload.emoji, vocabulary)
    if grade is None:
        return None
    member = getattr(payload, "member", None)
    actor = Actor(
        platform=PLATFORM,
        team_ref=team_ref,
        user_ref=str(payload.user_id),
        display_name=member.display_name if member is not None else "",
        is_admin=payload.user_id in admin_user_ids,
    )
    conversation = Conversation(channel_ref=str(payload.channel_id), is_dm=payload.guild_id is None)
    reaction = ReactionAdded if payload.event_type == "REACTION_ADD" else ReactionRemoved
    return reaction(
        event_id=event_id,
        actor=actor,
        conversation=conversation,
        message_ref=str(payload.message_id),
        grade=grade,
    )


def _grade_of(emoji: Any, vocabulary: GradeVocabulary) -> Grade | None:
    """A unicode emoji is its own name in Discord; a custom one counts by its name."""
    name = getattr(emoji, "name", None) or ""
    return vocabulary.parse(name) if name else None
