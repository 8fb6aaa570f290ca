"""Typed lines -> core events. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands import CommandCatalog, UsageError
from bot.domain.grades import GradeVocabulary
from bot.events import Actor, CommandInvoked, Conversation, Event, ReactionAdded, ReactionRemoved

QUIT_WORDS = ("/quit", "/exit", "quit", "exit")

CONSOLE_HELP = """*console input*
- `react <card> strong|lean|no`: grade a card, as reacting 🟢 🟡 🔴 would
  (the emoji and names like :large_green_circle: work too)
- `unreact <card> [grade]`: take your grade on a card back
- `:channel` / `:dm`: type in the team channel (for /drillbot channel ...) or back in your DM
- `/quit`: leave (end of input does the same)"""


@dataclass(frozen=True)
class Quit:
    """The person at the terminal wants to leave."""


@dataclass(frozen=True)
class SwitchPlace:
    """Type in the team channel (`:channel`) or in the DM (`:dm`) from now on."""

    to_channel: bool


def translate(
    line: str,
    *,
    catalog: CommandCatalog,
    vocabulary: GradeVocabulary,
    actor: Actor,
    conversation: Conversation,
    event_id: str,
) -> Event | Quit | SwitchPlace | None:
    """Turn one typed line into an event; raise UsageError with a hint for bad input."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if text.lower() in QUIT_WORDS:
        return Quit()
    if text.lower() in (":channel", ":dm"):
        return SwitchPlace(to_channel=text.lower() == ":channel")
    words = text.split()
    verb = words[0].lower()
    if verb in ("react", "unreact"):
        return _reaction(verb, words[1:], vocabulary, actor, conversation, event_id)
    if not text.startswith("/"):
        raise UsageError(f"{words[0]!r} is not a command; commands start with / (try /help)")
    command, args = catalog.parse_line(text)
    return CommandInvoked(
        event_id=event_id, actor=actor, conversation=conversation, command=command.name, args=args
    )


def _reaction(
    verb: str,
    words: list[str],
    vocabulary: GradeVocabulary,
    actor: Actor,
    conversation: Conversation,
    event_id: str,
) -> Event:
    usage = f"usage: {verb} <card> {'strong|lean|no' if verb == 'react' else '[strong|lean|no]'}"
    needed = 2 if verb == "react" else 1
    if len(words) < needed or len(words) > 2:
        raise UsageError(usage)
    card = words[0].lstrip("#")
    if not card.isdigit():
        raise UsageError(f"{words[0]!r} is not a card number; {usage}")
    grade = None
    if len(words) == 2:
        grade = vocabulary.parse(words[1])
        if grade is None:
            raise UsageError(f"unknown grade {words[1]!r}; use strong, lean or no (or 🟢 🟡 🔴)")
    if verb == "react":
        assert grade is not None
        return ReactionAdded(
            event_id=event_id, actor=actor, conversation=conversation, message_ref=card, grade=grade
        )
    return ReactionRemoved(
        event_id=event_id, actor=actor, conversation=conversation, message_ref=card, grade=grade
    )
