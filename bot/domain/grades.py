"""Self-grades and how they map to FSRS ratings and to reactions."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

import fsrs


class Grade(enum.StrEnum):
    """A member's verdict on their own answer, in interview terms."""

    STRONG = "strong"
    LEAN = "lean"
    NO = "no"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def emoji(self) -> str:
        return _EMOJI[self]

    @property
    def rating(self) -> fsrs.Rating:
        """Strong -> Good, Lean -> Hard, No -> Again (DESIGN: one post a day, no Easy)."""
        return _RATINGS[self]

    @property
    def score(self) -> float:
        """Numeric value for means: Strong 1.0, Lean 0.5, No 0.0."""
        return _SCORES[self]


_LABELS = {Grade.STRONG: "Strong Hire", Grade.LEAN: "Lean Hire", Grade.NO: "No Hire"}
_EMOJI = {Grade.STRONG: "🟢", Grade.LEAN: "🟡", Grade.NO: "🔴"}
_RATINGS = {
    Grade.STRONG: fsrs.Rating.Good,
    Grade.LEAN: fsrs.Rating.Hard,
    Grade.NO: fsrs.Rating.Again,
}
_SCORES = {Grade.STRONG: 1.0, Grade.LEAN: 0.5, Grade.NO: 0.0}

DEFAULT_ALIASES: Mapping[Grade, tuple[str, ...]] = {
    Grade.STRONG: ("strong", "strong-hire", "s", "🟢", "large_green_circle", "green_circle"),
    Grade.LEAN: ("lean", "lean-hire", "l", "🟡", "large_yellow_circle", "yellow_circle"),
    Grade.NO: ("no", "no-hire", "n", "🔴", "red_circle", "large_red_circle"),
}


class GradeVocabulary:
    """Turns what a member typed or reacted with into a Grade.

    Platforms name emoji differently (Slack ``large_green_circle``, Discord the character
    itself), and teams may pick their own, so the vocabulary is configurable.
    """

    def __init__(self, aliases: Mapping[Grade, Iterable[str]] = DEFAULT_ALIASES) -> None:
        self._by_token: dict[str, Grade] = {}
        for grade in Grade:
            self._by_token[grade.value] = grade
            for token in aliases.get(grade, ()):
                self._by_token[_normalise(token)] = grade

    def parse(self, token: str) -> Grade | None:
        return self._by_token.get(_normalise(token))

    def tokens(self) -> list[str]:
        return sorted(self._by_token)


def _normalise(token: str) -> str:
    token = token.strip().lower().replace("_hire", "").replace(" hire", "")
    if len(token) > 2 and token.startswith(":") and token.endswith(":"):
        token = token[1:-1]
    # Strip the emoji variation selector so "🟢\ufe0f" and "🟢" agree.
    return token.replace("\ufe0f", "")
