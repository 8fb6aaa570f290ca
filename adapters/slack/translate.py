"""Slack payloads -> core events. Pure: no I/O, no clock, no client.

The payloads are what Slack sends, in its documented shapes, as slack-bolt hands them
over: slash command form bodies, `event_callback` envelopes (reactions, DMs, mentions)
and `block_actions`. Anything drillbot does not act on translates to None.

A Slack workspace is one drillbot team; a member is a Slack user id within it.
Who is an admin and which timezone a member lives in come from `users.info`, which is
I/O, so the app adds them afterwards (`with_profile`); here only the admins listed in
the config are known.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.slack.render import (
    DEFAULT_COMMAND,
    REVEAL,
    SLASH_COMMAND,
    group_words,
    parse_card_action,
    slack_words,
)
from bot.commands import CORE_COMMANDS, Command, CommandCatalog, UsageError, echo
from bot.config import Settings
from bot.domain.grades import Grade, GradeVocabulary
from bot.events import (
    Actor,
    ButtonPressed,
    CommandInvoked,
    Conversation,
    Event,
    ReactionAdded,
    ReactionRemoved,
)

PLATFORM = "slack"

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_SKIN_TONE = re.compile(r"::skin-tone-\d$")


class MalformedPayload(ValueError):
    """A request that claims to be from Slack but lacks what its type always carries."""


@dataclass(frozen=True, kw_only=True)
class SlackContext:
    """What translating needs besides the payload."""

    vocabulary: GradeVocabulary
    catalog: CommandCatalog = CORE_COMMANDS
    bot_user_id: str | None = None
    admin_user_ids: Collection[str] = field(default_factory=frozenset)


def slack_vocabulary(settings: Settings) -> GradeVocabulary:
    """The team's grade words plus the emoji names configured for Slack reactions."""
    aliases = {grade: list(words) for grade, words in settings.grades.aliases().items()}
    for name, emoji in settings.slack.grade_emoji.items():
        aliases[Grade(name)].append(emoji)
    return GradeVocabulary(aliases)


@dataclass(frozen=True, kw_only=True)
class Profile:
    """What `users.info` says about a member."""

    display_name: str = ""
    timezone: str | None = None
    is_admin: bool = False


def profile_from_user(user: Mapping[str, Any]) -> Profile:
    """A `users.info` user object: workspace admins and owners are drillbot admins; the
    timezone is Slack's IANA name for the member's own setting."""
    details = user.get("profile") if isinstance(user.get("profile"), Mapping) else {}
    name = (
        details.get("display_name")
        or details.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or ""
    )
    timezone = user.get("tz")
    if not isinstance(timezone, str) or not _known_zone(timezone):
        timezone = None
    is_admin = any(bool(user.get(flag)) for flag in ("is_admin", "is_owner", "is_primary_owner"))
    return Profile(display_name=str(name), timezone=timezone, is_admin=is_admin)


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def with_profile(event: Event, profile: Profile | None) -> Event:
    """The event with the member's Slack name, timezone and admin flag filled in."""
    if profile is None:
        return event
    actor = replace(
        event.actor,
        display_name=profile.display_name or event.actor.display_name,
        timezone=profile.timezone or event.actor.timezone,
        is_admin=event.actor.is_admin or profile.is_admin,
    )
    return replace(event, actor=actor)


# ---- /drill and typed commands -----------------------------------------------------------


def parse_command_text(
    text: str, *, catalog: CommandCatalog = CORE_COMMANDS
) -> tuple[Command, dict[str, Any]]:
    """What follows `/drill` (or what a member typed in the DM or after a mention) as a
    core command: `quickfire 10`, `subscribe 07:45 weekdays`, `5 track=llm` (a drill).

    The neutral spelling works too (`drillbot subscribe`, `/quickfire`), so text copied
    from another platform's help still does the right thing.
    """
    words = text.split()
    if words and words[0].lower() in (SLASH_COMMAND, SLASH_COMMAND.lstrip("/")):
        words = words[1:] if len(words) > 1 or words[0].startswith("/") else words
    if words:
        words[0] = words[0].lstrip("/")
        if not words[0]:
            words = words[1:]
    if not words:
        command = _default(catalog)
        return command, command.parse([])
    first_error: UsageError | None = None
    for prefix in ((), *((group,) for group in group_words(catalog))):
        try:
            command, rest = catalog.resolve([*prefix, *words])
        except UsageError:
            continue
        try:
            return command, command.parse(rest)
        except UsageError as error:
            first_error = first_error or error
    if first_error is not None:
        raise first_error
    if words[0][:1].isdigit() or "=" in words[0]:
        command = _default(catalog)
        return command, command.parse(words)
    raise UsageError(_unknown(words[0], catalog))


def _default(catalog: CommandCatalog) -> Command:
    command = catalog.get(DEFAULT_COMMAND)
    if command is None:  # pragma: no cover - the core always has /drill
        raise UsageError("type help to see every command")
    return command


def _unknown(word: str, catalog: CommandCatalog) -> str:
    names: list[str] = []
    for command in catalog:
        words = slack_words(command.path, catalog)
        if words and words[0] not in names:
            names.append(words[0])
    return (
        f"unknown {SLASH_COMMAND} subcommand {echo(word)}. Try one of: {', '.join(names)}; "
        f"`{SLASH_COMMAND} help` explains each."
    )


def _command_event(
    *,
    event_id: str,
    actor: Actor,
    conversation: Conversation,
    text: str,
    catalog: CommandCatalog,
) -> CommandInvoked:
    command, args = parse_command_text(text, catalog=catalog)
    return CommandInvoked(
        event_id=event_id,
        actor=actor,
        conversation=conversation,
        command=command.name,
        args=args,
    )


def _actor(*, team_ref: str, user_ref: str, name: str, context: SlackContext) -> Actor:
    return Actor(
        platform=PLATFORM,
        team_ref=team_ref,
        user_ref=user_ref,
        display_name=name,
        is_admin=user_ref in context.admin_user_ids,
    )


def _is_dm(channel_ref: str) -> bool:
    """Slack's direct message conversations have ids starting with D."""
    return channel_ref.startswith("D")


def _need(payload: Mapping[str, Any], *keys: str) -> list[str]:
    values = []
    for key in keys:
        value = payload.get(key)
        if not isinstance(value, str) or not value:
            raise MalformedPayload(f"{key} is missing")
        values.append(value)
    return values


def slash_command_event(body: Mapping[str, Any], *, context: SlackContext) -> CommandInvoked:
    """A `/drill ...` slash command. Raises UsageError with a hint for what does not parse.

    Slack never retries slash commands; the trigger id is unique per invocation.
    """
    team, user, channel, trigger = _need(body, "team_id", "user_id", "channel_id", "trigger_id")
    conversation = Conversation(
        channel_ref=channel,
        is_dm=_is_dm(channel) or body.get("channel_name") == "directmessage",
        reply_token=body.get("response_url") or None,
    )
    actor = _actor(team_ref=team, user_ref=user, name=body.get("user_name") or "", context=context)
    return _command_event(
        event_id=f"command:{trigger}",
        actor=actor,
        conversation=conversation,
        text=str(body.get("text") or ""),
        catalog=context.catalog,
    )


# ---- events: reactions, DMs, mentions ----------------------------------------------------


def callback_event(envelope: Mapping[str, Any], *, context: SlackContext) -> Event | None:
    """An Events API `event_callback`: a grade reaction, or a command typed in the DM or
    after a mention. The envelope's `event_id` stays the same when Slack retries."""
    event = envelope.get("event")
    if not isinstance(event, Mapping):
        raise MalformedPayload("event is missing")
    (event_id,) = _need(envelope, "event_id")
    team = envelope.get("team_id") or event.get("team")
    if not isinstance(team, str) or not team:
        raise MalformedPayload("team_id is missing")
    kind = event.get("type")
    if kind in ("reaction_added", "reaction_removed"):
        return _reaction(event, kind=kind, event_id=event_id, team=team, context=context)
    if kind == "message":
        return _direct_message(event, event_id=event_id, team=team, context=context)
    if kind == "app_mention":
        return _mention(event, event_id=event_id, team=team, context=context)
    return None


def _reaction(
    event: Mapping[str, Any], *, kind: str, event_id: str, team: str, context: SlackContext
) -> ReactionAdded | ReactionRemoved | None:
    """A reaction names a grade by its emoji; the bot's own hints and other emoji are not."""
    user = event.get("user")
    item = event.get("item")
    if not isinstance(user, str) or not isinstance(item, Mapping):
        raise MalformedPayload("reaction without user or item")
    if user == context.bot_user_id or item.get("type") != "message":
        return None
    grade = context.vocabulary.parse(_SKIN_TONE.sub("", str(event.get("reaction") or "")))
    channel, ts = item.get("channel"), item.get("ts")
    if grade is None or not channel or not ts:
        return None
    actor = _actor(team_ref=team, user_ref=user, name="", context=context)
    conversation = Conversation(channel_ref=channel, is_dm=_is_dm(channel))
    reaction = ReactionAdded if kind == "reaction_added" else ReactionRemoved
    return reaction(
        event_id=event_id, actor=actor, conversation=conversation, message_ref=ts, grade=grade
    )


def _typed_by_member(event: Mapping[str, Any], context: SlackContext) -> str | None:
    """The author of a plain message a member typed; None for bots, edits, joins ..."""
    user = event.get("user")
    if event.get("subtype") or event.get("bot_id") or not isinstance(user, str):
        return None
    if user == context.bot_user_id:
        return None
    return user


def _direct_message(
    event: Mapping[str, Any], *, event_id: str, team: str, context: SlackContext
) -> CommandInvoked | None:
    """A command typed in the bot's DM (`quickfire 10`, `/drill stats`).

    Replies in a thread are where members write their answers, so they are left alone.
    """
    channel = event.get("channel")
    user = _typed_by_member(event, context)
    if user is None or not isinstance(channel, str):
        return None
    if event.get("channel_type") != "im" and not _is_dm(channel):
        return None
    thread = event.get("thread_ts")
    if thread and thread != event.get("ts"):
        return None
    text = str(event.get("text") or "").strip()
    if not text:
        return None
    return _command_event(
        event_id=event_id,
        actor=_actor(team_ref=team, user_ref=user, name="", context=context),
        conversation=Conversation(channel_ref=channel, is_dm=True),
        text=text,
        catalog=context.catalog,
    )


def _mention(
    event: Mapping[str, Any], *, event_id: str, team: str, context: SlackContext
) -> CommandInvoked | None:
    """`@drillbot quickfire 5` in a channel. In the DM the same text arrives as a DM
    message too, so the mention is ignored there."""
    channel = event.get("channel")
    user = _typed_by_member(event, context)
    if user is None or not isinstance(channel, str) or _is_dm(channel):
        return None
    text = _MENTION.sub(" ", str(event.get("text") or "")).strip()
    thread = event.get("thread_ts") or None
    return _command_event(
        event_id=event_id,
        actor=_actor(team_ref=team, user_ref=user, name="", context=context),
        conversation=Conversation(channel_ref=channel, is_dm=False, thread_ref=thread),
        text=text or "help",
        catalog=context.catalog,
    )


# ---- buttons -----------------------------------------------------------------------------


def button_event(body: Mapping[str, Any], *, context: SlackContext) -> ButtonPressed | None:
    """A card button (`block_actions`): Reveal answer, or one of the three grades."""
    actions = body.get("actions")
    user = body.get("user")
    if not isinstance(actions, Sequence) or not actions or not isinstance(user, Mapping):
        raise MalformedPayload("block_actions without actions or user")
    action = actions[0] if isinstance(actions[0], Mapping) else {}
    parsed = parse_card_action(str(action.get("action_id") or ""))
    if parsed is None:
        return None
    kind, post_id = parsed
    container = body.get("container") if isinstance(body.get("container"), Mapping) else {}
    channel_info = body.get("channel") if isinstance(body.get("channel"), Mapping) else {}
    team_info = body.get("team") if isinstance(body.get("team"), Mapping) else {}
    channel = channel_info.get("id") or container.get("channel_id")
    team = team_info.get("id") or user.get("team_id")
    user_id = user.get("id")
    if not channel or not team or not isinstance(user_id, str):
        raise MalformedPayload("block_actions without channel, team or user id")
    trigger = body.get("trigger_id") or f"{action.get('action_ts')}:{user_id}"
    grade = None if kind == REVEAL else Grade(kind)
    return ButtonPressed(
        event_id=f"action:{trigger}",
        actor=_actor(
            team_ref=team,
            user_ref=user_id,
            name=str(user.get("name") or user.get("username") or ""),
            context=context,
        ),
        conversation=Conversation(
            channel_ref=channel,
            is_dm=_is_dm(channel) or channel_info.get("name") == "directmessage",
            reply_token=body.get("response_url") or None,
        ),
        message_ref=str(container.get("message_ts") or ""),
        post_id=post_id,
        action="reveal" if grade is None else "grade",
        grade=grade,
    )


# ---- any payload -------------------------------------------------------------------------


# What slack-bolt's middleware reads from any body before drillbot's listeners run:
# a value of another shape makes it fail with a server error.
BOLT_OBJECTS = ("event",)
BOLT_LISTS_OF_OBJECTS = ("actions", "authorizations")
BOLT_IDS_OR_OBJECTS = ("team", "user", "channel", "enterprise", "container", "message", "view")
BOLT_IDS = ("team_id", "user_id", "channel_id", "enterprise_id", "api_app_id", "event_id")
BOLT_EVENT_IDS = ("user", "channel", "team", "bot_id", "type", "subtype")


def malformed_reason(body: Any) -> str | None:
    """Why a verified request body is not something Slack sends, or None when it is."""
    if not isinstance(body, Mapping):
        return "not an object"
    for key in BOLT_OBJECTS:
        if key in body and not isinstance(body[key], Mapping):
            return f"{key} is not an object"
    for key in BOLT_LISTS_OF_OBJECTS:
        value = body.get(key)
        if key in body and (
            not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value)
        ):
            return f"{key} is not a list of objects"
    for key in BOLT_IDS_OR_OBJECTS:
        value = body.get(key)
        if value is not None and not isinstance(value, str | Mapping):
            return f"{key} is neither an id nor an object"
    for key in BOLT_IDS:
        if body.get(key) is not None and not isinstance(body[key], str):
            return f"{key} is not a string"
    event = body.get("event") or {}
    for key in BOLT_EVENT_IDS:
        if event.get(key) is not None and not isinstance(event[key], str):
            return f"event {key} is not a string"
    if "command" in body:
        missing = [k for k in ("command", "team_id", "user_id", "channel_id") if not body.get(k)]
        return f"slash command without {', '.join(missing)}" if missing else None
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        return "no type"
    if kind == "event_callback" and "event" not in body:
        return "event_callback without event"
    if kind == "block_actions":
        if not body.get("actions"):
            return "block_actions without actions"
        if not all(isinstance(action.get("action_id"), str) for action in body["actions"]):
            return "block_actions with an action without an action_id"
    if kind == "url_verification" and not isinstance(body.get("challenge"), str):
        return "url_verification without a challenge"
    return None


def nesting_depth_over(text: str, limit: int) -> bool:
    """Whether JSON `text` nests arrays and objects more than `limit` deep (strings
    skipped), checked before parsing: a deeply nested body makes the parser recurse
    until it fails, and anyone can send one."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def translate(payload: Mapping[str, Any], *, context: SlackContext) -> Event | None:
    """Any Slack request body as an event, or None when it is not drillbot's business.

    Raises UsageError (with the usage hint to show) for a command that does not parse and
    MalformedPayload for a body missing what its type always has.
    """
    if "command" in payload:
        if payload.get("command") != SLASH_COMMAND:
            return None
        return slash_command_event(payload, context=context)
    kind = payload.get("type")
    if kind == "event_callback":
        return callback_event(payload, context=context)
    if kind == "block_actions":
        return button_event(payload, context=context)
    return None
