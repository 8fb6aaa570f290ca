"""Outbound messages, platform-neutral; each adapter renders them its own way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.domain.grades import Grade


@dataclass(frozen=True, kw_only=True)
class QuestionCard:
    post_id: int
    question_id: str
    track: str
    level: str
    time_limit_s: int
    prompt: str
    heading: str = ""
    companies: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class AnswerReveal:
    post_id: int
    question_id: str
    prompt: str
    answer: str
    rubric: Mapping[Grade, str]
    follow_ups: Sequence[str] = ()
    red_flags: Sequence[str] = ()
    study: str = ""


@dataclass(frozen=True, kw_only=True)
class Text:
    """Plain text with light markup: ``*bold*`` and lines starting with ``- ``."""

    text: str


@dataclass(frozen=True, kw_only=True)
class Image:
    png: bytes
    filename: str
    title: str = ""


@dataclass(frozen=True, kw_only=True)
class LeaderboardRow:
    rank: int
    display_name: str
    completed: int
    streak_weeks: int
    mean_grade: float | None


@dataclass(frozen=True, kw_only=True)
class LeaderboardView:
    title: str
    rows: Sequence[LeaderboardRow] = field(default_factory=tuple)


Message = QuestionCard | AnswerReveal | Text | Image | LeaderboardView


def time_budget_label(seconds: int) -> str:
    """'30 s', '2 min', '15 min': how a card states its time budget."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min" if rest == 0 else f"{minutes} min {rest} s"
