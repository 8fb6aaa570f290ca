"""Typed lines -> core events. Pure: no I/O, no clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.commands import CommandCatalog, UsageError
from bot.domain.grades import GradeVocabulary
from bot.events import Actor, CommandInvoked, Conversation, Event, ReactionAdded, ReactionRemoved

QUIT_WORDS = ("/quit", "/exit", "quit", "exit")

CONSOLE_HELP = """*console input*
- `react <card> strong|lean|no`: grade a card, as reacting 🟢 🟡 🔴 would
  (the emoji and names like :large_green_circle: work too)
- `unreact <card> [grade]`: take your grade on a card back
- `:channel` / `:dm`: type in the team channel (for /drillbot channel ...) or back in your DM
- `/clock`: the console's time; `/clock +1d`, `/clock +3h`, `/clock monday 09:00` move it
  forward and deliver whatever falls due on the way (this session only)
- `/quit`: leave (end of input does the same)"""


@dataclass(frozen=True)
class Quit:
    """The person at the terminal wants to leave."""


@dataclass(frozen=True)
class SwitchPlace:
    """Type in the team channel (`:channel`) or in the DM (`:dm`) from now on."""

    to_channel: bool


@dataclass(frozen=True)
class MoveClock:
    """`/clock` (show the time) or `/clock SPEC` (move it forward and run what is due)."""

    spec: str


CLOCK_USAGE = "usage: /clock [+1d | +3h | +30m | tomorrow [HH:MM] | monday [HH:MM]]"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_STEP = re.compile(r"(\d+)\s*([dhm])")


def clock_target(spec: str, *, now: datetime, timezone: str) -> datetime:
    """Where `/clock SPEC` moves the clock to, from `now`: `+1d2h`, `+30m`, or the next
    `tomorrow` / weekday at a local time (09:00 when none is given)."""
    text = spec.strip().lower()
    if text.startswith("+"):
        steps = _STEP.findall(text)
        if not steps or _STEP.sub("", text[1:]).strip():
            raise UsageError(CLOCK_USAGE)
        units = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
        return now + sum((int(n) * units[unit] for n, unit in steps), timedelta(0))
    words = text.split()
    if not words or len(words) > 2:
        raise UsageError(CLOCK_USAGE)
    day, at = words[0], time(9, 0)
    if len(words) == 2:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", words[1])
        if not match:
            raise UsageError(CLOCK_USAGE)
        at = time(int(match[1]), int(match[2]))
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    if day == "tomorrow":
        target = today + timedelta(days=1)
    elif day in WEEKDAYS or day[:3] in (w[:3] for w in WEEKDAYS):
        wanted = next(i for i, w in enumerate(WEEKDAYS) if w.startswith(day[:3]))
        target = today + timedelta(days=(wanted - today.weekday() - 1) % 7 + 1)
    else:
        raise UsageError(CLOCK_USAGE)
    return datetime.combine(target, at, tzinfo=zone)


def translate(
    line: str,
    *,
    catalog: CommandCatalog,
    vocabulary: GradeVocabulary,
    actor: Actor,
    conversation: Conversation,
    event_id: str,
) -> Event | Quit | SwitchPlace | MoveClock | None:
    """Turn one typed line into an event; raise UsageError with a hint for bad input."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if text.lower() in QUIT_WORDS:
        return Quit()
    if text.lower() in (":channel", ":dm"):
        return SwitchPlace(to_channel=text.lower() == ":channel")
    if text.lower() == "/clock" or text.lower().startswith("/clock "):
        return MoveClock(spec=text[len("/clock") :].strip())
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
