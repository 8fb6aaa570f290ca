"""Every chat command, declared once.

Each platform parses what a member typed (or the slash-command options it received)
against these declarations, and `/help`, the Discord command tree and the README's
command table are all rendered from them, so a command added here appears everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bank.schema import LEVELS, TRACKS
from bot.srs import SCHEDULES


class UsageError(ValueError):
    """What a member typed does not fit a command; the message says how to fix it."""


ECHO_LIMIT = 40  # characters of a bad argument repeated back


def echo(text: str) -> str:
    """A bad argument as an error message quotes it: cut short, so a pasted essay is not
    sent back whole."""
    return repr(text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "…")


@dataclass(frozen=True)
class ParamType:
    """How one argument is written and read back."""

    name: str

    def parse(self, text: str) -> Any:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def accepts(self, text: str) -> bool:
        try:
            self.parse(text)
        except ValueError:
            return False
        return True


@dataclass(frozen=True)
class IntType(ParamType):
    minimum: int = 1
    maximum: int = 1000

    def parse(self, text: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", text.strip()):
            raise ValueError(f"expected a whole number, got {echo(text)}")
        value = int(text)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"must be between {self.minimum} and {self.maximum}, got {value}")
        return value


@dataclass(frozen=True)
class WordType(ParamType):
    pattern: str = r"\S+"

    def parse(self, text: str) -> str:
        if not re.fullmatch(self.pattern, text):
            raise ValueError(f"{echo(text)} is not a valid {self.name}")
        return text


@dataclass(frozen=True)
class ChoiceType(ParamType):
    choices: tuple[str, ...] = ()

    def parse(self, text: str) -> str:
        value = text.strip().lower()
        if value not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {echo(text)}")
        return value


@dataclass(frozen=True)
class LocalTimeType(ParamType):
    """24-hour `08:30`, or `7am`, `7:30pm`, `12pm` (noon), `12am` (midnight)."""

    def parse(self, text: str) -> time:
        value = text.strip().lower()
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
        if match:
            return time(int(match[1]), int(match[2]))
        match = re.fullmatch(r"(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*([ap])\.?m\.?", value)
        if match:
            hour = int(match[1]) % 12 + (12 if match[3] == "p" else 0)
            return time(hour, int(match[2] or 0))
        raise ValueError(f"expected a time like 08:30 or 7am, got {echo(text)}")


@dataclass(frozen=True)
class TimeZoneType(ParamType):
    def parse(self, text: str) -> str:
        name = text.strip()
        if name.upper() == "UTC":
            return "UTC"
        try:
            if "/" in name:
                ZoneInfo(name)
                return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
        guesses = zone_guesses(name)
        if guesses:
            raise ValueError(f"unknown timezone {echo(text)}; did you mean {' or '.join(guesses)}?")
        raise ValueError(f"unknown timezone {echo(text)} (write one like Europe/Berlin, or UTC)")


def zone_guesses(text: str, *, limit: int = 3) -> list[str]:
    """IANA zones whose city is what was typed (`berlin`, `new york`, `sao_paulo`)."""
    wanted = text.strip().lower().replace(" ", "_").rsplit("/", 1)[-1]
    if not wanted:
        return []
    return sorted(zone for zone in _zone_names() if zone.rsplit("/", 1)[-1].lower() == wanted)[
        :limit
    ]


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zone for zone in available_timezones() if "/" in zone)


@dataclass(frozen=True)
class DateType(ParamType):
    def parse(self, text: str) -> date:
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"expected a date like 2026-12-01, got {echo(text)}") from None


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_SETS = {
    "daily": tuple(range(7)),
    "everyday": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekends": (5, 6),
}


@dataclass(frozen=True)
class WeekdaysType(ParamType):
    """`weekdays`, `daily`, `weekends`, `mon-fri`, `mon,wed,fri`: a tuple of ISO weekday indexes."""

    def parse(self, text: str) -> tuple[int, ...]:
        value = text.strip().lower()
        if value in _DAY_SETS:
            return _DAY_SETS[value]
        days: set[int] = set()
        for part in value.split(","):
            if "-" in part:
                start, _, end = part.partition("-")
                if start not in WEEKDAY_NAMES or end not in WEEKDAY_NAMES:
                    raise ValueError(f"expected days like mon-fri, got {echo(text)}")
                first, last = WEEKDAY_NAMES.index(start), WEEKDAY_NAMES.index(end)
                span = (
                    range(first, last + 1)
                    if first <= last
                    else [*range(first, 7), *range(last + 1)]
                )
                days.update(span)
            elif part in WEEKDAY_NAMES:
                days.add(WEEKDAY_NAMES.index(part))
            else:
                raise ValueError(f"expected days like mon-fri or weekdays, got {echo(text)}")
        return tuple(sorted(days))


@dataclass(frozen=True)
class WeekType(ParamType):
    """`this`, `last` or an ISO week like 2026-W47."""

    def parse(self, text: str) -> str:
        value = text.strip()
        if value.lower() in ("this", "last"):
            return value.lower()
        match = re.fullmatch(r"(\d{4})-?[Ww](\d{1,2})", value)
        if not match or not 1 <= int(match[2]) <= 53:
            raise ValueError(f"expected this, last or a week like 2026-W47, got {echo(text)}")
        return f"{match[1]}-W{int(match[2]):02d}"


@dataclass(frozen=True)
class ListType(ParamType):
    """A comma-separated list of words, each checked against `choices` when given."""

    choices: tuple[str, ...] = ()

    def parse(self, text: str) -> tuple[str, ...]:
        items = tuple(item.strip().lower() for item in text.split(",") if item.strip())
        if not items:
            raise ValueError("expected a comma-separated list")
        unknown = [item for item in items if self.choices and item not in self.choices]
        if unknown:
            raise ValueError(
                f"unknown {', '.join(unknown)} (choose from {', '.join(self.choices)})"
            )
        return items


@dataclass(frozen=True)
class ReviewOnlyDaysType(WeekdaysType):
    """Days as `days` takes them, or `none`: drill days that bring no new questions."""

    def parse(self, text: str) -> tuple[int, ...]:
        if text.strip().lower() == "none":
            return ()
        return super().parse(text)


@dataclass(frozen=True)
class GoalDateType(DateType):
    """An interview date, or `off` to drop the goal."""

    def parse(self, text: str) -> date | str:
        if text.strip().lower() == "off":
            return "off"
        return super().parse(text)


CARD = IntType("card", minimum=1, maximum=2**62)
TIME = LocalTimeType("HH:MM")
TIMEZONE = TimeZoneType("timezone")
DAYS = WeekdaysType("days")


@dataclass(frozen=True)
class Param:
    """One argument. ``keyword`` params are written ``name=value``; others by position.

    Optional positional params are matched by type, so `subscribe 08:30 weekdays` and
    `subscribe weekdays 08:30` both work.
    """

    name: str
    type: ParamType
    help: str
    required: bool = False
    default: Any = None
    keyword: bool = False

    def usage(self) -> str:
        if self.keyword:
            return f"[{self.name}={self.type.name}]"
        # A choice reads as its choices (`on|off`), anything else by its name.
        shown = self.type.name if isinstance(self.type, ChoiceType) else self.name
        return f"<{shown}>" if self.required else f"[{shown}]"


@dataclass(frozen=True)
class Command:
    """A chat command: its words (``("drillbot", "subscribe")``), params and help."""

    path: tuple[str, ...]
    help: str
    params: tuple[Param, ...] = ()
    admin_only: bool = False
    dm_only: bool = False
    examples: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def usage(self) -> str:
        return " ".join(["/" + self.name, *(param.usage() for param in self.params)])

    def parse(self, tokens: Sequence[str]) -> dict[str, Any]:
        """Read typed words into argument values, or raise UsageError with the usage line."""
        values: dict[str, Any] = {}
        positionals = [param for param in self.params if not param.keyword]
        keywords = {param.name: param for param in self.params}
        pending = list(positionals)
        for token in tokens:
            name, sep, raw = token.partition("=")
            if sep and name.lower() in keywords:
                param = keywords[name.lower()]
                values[param.name] = self._convert(param, raw)
                if param in pending:
                    pending.remove(param)
                continue
            param = self._next_positional(pending, token)
            values[param.name] = self._convert(param, token)
            pending.remove(param)
        for param in self.params:
            if param.name not in values:
                if param.required:
                    raise UsageError(f"missing <{param.name}>. Usage: {self.usage()}")
                values[param.name] = param.default
        return values

    def coerce(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Check already-split options (a Discord slash command's) against the declaration."""
        tokens = []
        for param in self.params:
            value = raw.get(param.name)
            if value is None or value == "":
                continue
            tokens.append(f"{param.name}={value}" if param.keyword else str(value))
        return self.parse(tokens)

    def _next_positional(self, pending: list[Param], token: str) -> Param:
        if not pending:
            raise UsageError(f"unexpected {echo(token)}. Usage: {self.usage()}")
        for param in pending:
            if param.required or param.type.accepts(token):
                return param
        return pending[0]

    def _convert(self, param: Param, raw: str) -> Any:
        try:
            return param.type.parse(raw)
        except ValueError as error:
            stop = " " if str(error).endswith("?") else ". "
            raise UsageError(f"{param.name}: {error}{stop}Usage: {self.usage()}") from None


class CommandCatalog:
    """The commands the core offers, looked up by the words a member typed."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self._commands = tuple(commands)
        self._by_path = {command.path: command for command in self._commands}
        if len(self._by_path) != len(self._commands):
            raise ValueError("two commands share a name")

    def __iter__(self):
        return iter(self._commands)

    def get(self, name: str) -> Command | None:
        return self._by_path.get(tuple(name.split()))

    def resolve(self, words: Sequence[str]) -> tuple[Command, list[str]]:
        """The longest command path that starts `words`, and the words left as its args."""
        lowered = [word.lower() for word in words]
        for length in range(min(len(words), 3), 0, -1):
            command = self._by_path.get(tuple(lowered[:length]))
            if command:
                return command, list(words[length:])
        raise UsageError(self._unknown_hint(lowered))

    def parse_line(self, line: str) -> tuple[Command, dict[str, Any]]:
        """Parse `/drill 3` (leading slash optional) into a command and its arguments."""
        words = line.strip().lstrip("/").split()
        if not words:
            raise UsageError("type /help to see every command")
        command, rest = self.resolve(words)
        return command, command.parse(rest)

    def groups(self) -> dict[str, list[Command]]:
        """Commands by their first word, for platforms with command groups."""
        grouped: dict[str, list[Command]] = {}
        for command in self._commands:
            grouped.setdefault(command.path[0], []).append(command)
        return grouped

    def _unknown_hint(self, words: Sequence[str]) -> str:
        if not words:
            return "type /help to see every command"
        group = [command for command in self._commands if command.path[0] == words[0]]
        if group:
            names = ", ".join(
                " ".join(command.path[1:]) for command in group if len(command.path) > 1
            )
            return (
                f"unknown /{words[0]} subcommand {echo(' '.join(words[1:2]))}; try one of: {names}"
            )
        return f"unknown command /{echo(words[0])[1:-1]}; type /help to see every command"


def help_text(catalog: CommandCatalog, *, include_admin: bool = True) -> str:
    lines = ["*drillbot commands*"]
    for command in catalog:
        if command.admin_only and not include_admin:
            continue
        suffix = " (admins only)" if command.admin_only else ""
        lines.append(f"- `{command.usage()}`: {command.help}{suffix}")
    return "\n".join(lines)


def markdown_table(catalog: CommandCatalog) -> str:
    """The README's command table, so the docs cannot drift from the code."""
    rows = ["| command | what it does | who |", "|---|---|---|"]
    for command in catalog:
        who = "admins" if command.admin_only else "everyone"
        usage = command.usage().replace("|", "\\|")  # a pipe would end the table cell
        rows.append(f"| `{usage}` | {command.help} | {who} |")
    return "\n".join(rows)


CORE_COMMANDS = CommandCatalog(
    [
        Command(
            ("help",),
            "List every command.",
        ),
        Command(
            ("drill",),
            "Get 1 to 10 questions now (3 unless you say), chosen by spaced repetition.",
            (
                Param("count", IntType("count", 1, 10), "how many questions (1-10)", default=3),
                Param("track", ChoiceType("track", TRACKS), "only this track", keyword=True),
                Param("level", ChoiceType("level", LEVELS), "only this level", keyword=True),
            ),
            examples=("/drill", "/drill 5 track=llm"),
        ),
        Command(
            ("reveal",),
            "Show a card's model answer and its Strong / Lean / No Hire rubric.",
            (Param("card", CARD, "the card number shown on the question", required=True),),
        ),
        Command(
            ("grade",),
            "Grade yourself on a card: strong, lean or no (same as reacting 🟢 🟡 🔴).",
            (
                Param("card", CARD, "the card number", required=True),
                Param(
                    "grade",
                    ChoiceType("grade", ("strong", "lean", "no")),
                    "your grade",
                    required=True,
                ),
            ),
        ),
        Command(
            ("quickfire",),
            "A quick-fire round: n questions in a row, 30 s each; grading moves to the next.",
            (
                Param("n", IntType("n", 1, 50), "how many questions (default 20)", default=20),
                Param("track", ChoiceType("track", TRACKS), "only this track"),
            ),
            examples=("/quickfire", "/quickfire 10 llm"),
        ),
        Command(
            ("mock",),
            "A mock interview: 5 mixed questions in 45 minutes, weighted to your weak topics.",
            (
                Param("track", ChoiceType("track", TRACKS), "only this track"),
                Param(
                    "company", WordType("company", r"[A-Za-z0-9][\w.&-]*"), "questions asked there"
                ),
            ),
            examples=("/mock", "/mock llm", "/mock google"),
        ),
        Command(("mock", "status"), "Your mock round's progress and time left."),
        Command(("mock", "abandon"), "End your current mock or quick-fire round."),
        Command(
            ("leaderboard",),
            "Mock rounds completed this week (or last, or a week like 2026-W47).",
            (Param("week", WeekType("week"), "this, last or 2026-W47", default="this"),),
        ),
        Command(
            ("stats",),
            "Your streak, grades by track and topic, reviews due, weakest topics and a chart.",
        ),
        Command(
            ("drillbot", "subscribe"),
            "Get a daily DM drill at your local time (run again to change it).",
            (
                Param("time", TIME, "local time, e.g. 08:30"),
                Param("timezone", TIMEZONE, "IANA timezone, e.g. America/New_York"),
                Param("days", DAYS, "weekdays, daily, weekends, mon-fri or mon,wed,fri"),
                Param("quickfire", IntType("n", 0, 10), "quick-fire questions a day", keyword=True),
                Param("screening", IntType("n", 0, 5), "screening questions a day", keyword=True),
                Param("tracks", ListType("tracks", TRACKS), "only these tracks", keyword=True),
                Param("companies", ListType("companies"), "prefer these companies", keyword=True),
                Param(
                    "reviewonly",
                    ReviewOnlyDaysType("days"),
                    "days with reviews but no new questions (or none)",
                    keyword=True,
                ),
                Param(
                    "schedule",
                    ChoiceType("fsrs|fixed", SCHEDULES),
                    "fsrs, or fixed: back on days 3, 7, 14, 21 after first sight",
                    keyword=True,
                ),
            ),
            examples=(
                "/drillbot subscribe 07:45 Europe/Berlin weekdays quickfire=5",
                "/drillbot subscribe quickfire=2 reviewonly=sat,sun",
            ),
        ),
        Command(
            ("drillbot", "goal"),
            "Set your interview date: new questions are paced to cover your tracks a week before.",
            (
                Param(
                    "date", GoalDateType("YYYY-MM-DD|off"), "interview date, or off", required=True
                ),
                Param("tracks", ListType("tracks", TRACKS), "only these tracks", keyword=True),
            ),
            examples=("/drillbot goal 2027-03-01 tracks=llm,deep-learning", "/drillbot goal off"),
        ),
        Command(
            ("drillbot", "pause"),
            "Pause your daily drill until a date, or until you resume.",
            (
                Param("until", ChoiceType("until", ("until",)), "the word 'until' (optional)"),
                Param("date", DateType("YYYY-MM-DD"), "first day to get drills again"),
            ),
        ),
        Command(("drillbot", "resume"), "Resume your paused daily drill."),
        Command(("drillbot", "unsubscribe"), "Stop your daily drill."),
        Command(
            ("drillbot", "settings"),
            "Show your drill settings and next run (in a channel, its daily question too).",
        ),
        Command(
            ("drillbot", "leaderboard"),
            "Show or hide yourself on the weekly leaderboard.",
            (Param("visible", ChoiceType("on|off", ("on", "off")), "on or off (none: show)"),),
        ),
        Command(
            ("drillbot", "forget-me"),
            "Delete all your data (grades, rounds, schedule). Asks for confirmation first.",
            (Param("confirm", ChoiceType("confirm", ("confirm",)), "type confirm to go ahead"),),
        ),
        Command(
            ("drillbot", "channel", "daily"),
            "Post one shared question in this channel every scheduled day.",
            (
                Param("time", TIME, "local time, e.g. 09:00"),
                Param("timezone", TIMEZONE, "IANA timezone (default: the team's)"),
                Param("days", DAYS, "weekdays, daily, mon-fri ..."),
                Param("track", ListType("tracks", TRACKS), "only these tracks", keyword=True),
                Param("level", ListType("levels", LEVELS), "only these levels", keyword=True),
            ),
            admin_only=True,
            examples=("/drillbot channel daily 09:00 Europe/Berlin mon-fri track=llm",),
        ),
        Command(
            ("drillbot", "channel", "off"),
            "Stop this channel's daily question.",
            admin_only=True,
        ),
    ]
)
