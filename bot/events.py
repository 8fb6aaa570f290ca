"""Inbound events: what adapters tell the core, with no platform payloads inside."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.grades import Grade


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who did something, as the platform knows them."""

    platform: str
    team_ref: str
    user_ref: str
    display_name: str = ""
    is_admin: bool = False
    timezone: str | None = None


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """Where something happened and how to answer there.

    ``reply_token`` is an opaque handle only the adapter's port understands (a Slack
    response URL, a Discord interaction token); the core passes it back untouched.
    """

    channel_ref: str
    is_dm: bool
    thread_ref: str | None = None
    reply_token: str | None = None


@dataclass(frozen=True, kw_only=True)
class CommandInvoked:
    event_id: str
    actor: Actor
    conversation: Conversation
    command: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ReactionAdded:
    event_id: str
    actor: Actor
    conversation: Conversation
    message_ref: str
    grade: Grade


@dataclass(frozen=True, kw_only=True)
class ReactionRemoved:
    event_id: str
    actor: Actor
    conversation: Conversation
    message_ref: str
    grade: Grade | None = None  # None: whatever grade the member has on the message


@dataclass(frozen=True, kw_only=True)
class ButtonPressed:
    """A card button: ``reveal`` the answer, or ``grade`` with the given grade."""

    event_id: str
    actor: Actor
    conversation: Conversation
    message_ref: str
    post_id: int
    action: str
    grade: Grade | None = None


Event = CommandInvoked | ReactionAdded | ReactionRemoved | ButtonPressed
