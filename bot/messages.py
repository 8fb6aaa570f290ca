"""Outbound messages, platform-neutral; each adapter renders them its own way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.domain.grades import Grade


@dataclass(frozen=True, slots=True)
class QuestionFace:
    """What every card of one question shows, whoever it is sent to."""

    question_id: str
    track: str
    level: str
    time_limit_s: int
    prompt: str
    companies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QuestionCard:
    """One question sent as one post. A daily run sends hundreds of thousands of cards,
    so each holds its question's shared face rather than a copy of every field."""

    post_id: int
    question: QuestionFace
    heading: str = ""

    @property
    def question_id(self) -> str:
        return self.question.question_id

    @property
    def track(self) -> str:
        return self.question.track

    @property
    def level(self) -> str:
        return self.question.level

    @property
    def time_limit_s(self) -> int:
        return self.question.time_limit_s

    @property
    def prompt(self) -> str:
        return self.question.prompt

    @property
    def companies(self) -> tuple[str, ...]:
        return self.question.companies


# Reviews one message carries: Discord allows five rows of buttons a message, and a
# review's row is Reveal / Strong / Lean / No Hire.
REVIEWS_PER_MESSAGE = 5


@dataclass(frozen=True, slots=True)
class ReviewDigest:
    """A day's due reviews in one message rather than one message each.

    Each item is still its own card (its own post, graded with its own buttons or
    `/grade <card> <grade>`); the message is recorded as the first item's post.
    """

    items: tuple[QuestionCard, ...]
    heading: str = ""

    @property
    def post_id(self) -> int:
        return self.items[0].post_id

    @property
    def title(self) -> str:
        return self.heading or f"Reviews due · {len(self.items)}"


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


Message = QuestionCard | ReviewDigest | AnswerReveal | Text | Image | LeaderboardView


def time_budget_label(seconds: int) -> str:
    """'30 s', '2 min', '15 min': how a card states its time budget."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min" if rest == 0 else f"{minutes} min {rest} s"
