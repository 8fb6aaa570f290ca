"""Events as JSON for the journal, and back, with nothing lost.

Command arguments hold parsed values (times, dates, tuples of weekdays), and reactions
hold grades; each is tagged so that decoding gives back the very event that was stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from bot.domain.grades import Grade
from bot.events import (
    Actor,
    ButtonPressed,
    CommandInvoked,
    Conversation,
    Event,
    ReactionAdded,
    ReactionRemoved,
)

EVENT_TYPES: Mapping[str, type] = {
    cls.__name__: cls for cls in (CommandInvoked, ReactionAdded, ReactionRemoved, ButtonPressed)
}


class UndecodableEvent(ValueError):
    """A stored event this version cannot read back (its payload names what is wrong)."""


def encode(event: Event) -> dict[str, Any]:
    fields = {
        name: _value(getattr(event, name))
        for name in event.__dataclass_fields__
        if name not in ("actor", "conversation")
    }
    return {
        "type": type(event).__name__,
        "actor": dict(vars(event.actor)),
        "conversation": dict(vars(event.conversation)),
        "fields": fields,
    }


def decode(payload: Mapping[str, Any]) -> Event:
    try:
        cls = EVENT_TYPES[payload["type"]]
        fields = {name: _restore(value) for name, value in payload["fields"].items()}
        return cls(
            actor=Actor(**payload["actor"]),
            conversation=Conversation(**payload["conversation"]),
            **fields,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise UndecodableEvent(f"stored event cannot be read: {error!r}") from error


def _value(value: Any) -> Any:
    if isinstance(value, Grade):
        return {"$grade": value.value}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [_value(item) for item in value]}
    if isinstance(value, list):
        return [_value(item) for item in value]
    if isinstance(value, Mapping):
        return {"$map": {str(key): _value(item) for key, item in value.items()}}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in an event")


def _restore(value: Any) -> Any:
    if isinstance(value, list):
        return [_restore(item) for item in value]
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    match tag:
        case "$grade":
            return Grade(inner)
        case "$datetime":
            return datetime.fromisoformat(inner)
        case "$date":
            return date.fromisoformat(inner)
        case "$time":
            return time.fromisoformat(inner)
        case "$tuple":
            return tuple(_restore(item) for item in inner)
        case "$map":
            return {key: _restore(item) for key, item in inner.items()}
    raise ValueError(f"unknown tag {tag!r}")
