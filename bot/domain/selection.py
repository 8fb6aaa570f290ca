"""Which questions a member gets next.

Order: FSRS reviews that are due (most overdue first, capped per day so a member back
from holiday is not buried), then questions never seen, then, if the member has seen
everything that fits, the reviews due soonest. A question shown in the last
`repeat_gap` is not shown again unless FSRS says it is due, and nothing shown in the
last `cooldown` is shown again at all (an ungraded due card should not repeat in every
drill of the same afternoon).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Candidate:
    question_id: str
    track: str
    level: str
    tags: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filters:
    tracks: Collection[str] = ()
    levels: Collection[str] = ()
    companies: Collection[str] = ()

    def match(self, candidate: Candidate) -> bool:
        if self.tracks and candidate.track not in self.tracks:
            return False
        if self.levels and candidate.level not in self.levels:
            return False
        return not self.companies or bool(set(candidate.companies) & set(self.companies))


@dataclass(frozen=True)
class Picked:
    question_id: str
    reason: str  # "due", "new" or "ahead"


@dataclass(frozen=True)
class SelectionRules:
    max_reviews: int = 10
    repeat_gap: timedelta = timedelta(days=7)
    cooldown: timedelta = timedelta(hours=12)


def select_questions(
    *,
    candidates: Sequence[Candidate],
    due_at: Mapping[str, datetime],
    last_shown: Mapping[str, datetime],
    now: datetime,
    count: int,
    filters: Filters = Filters(),
    rules: SelectionRules = SelectionRules(),
    reviews_today: int = 0,
    seed: int | str = 0,
    exclude: Collection[str] = (),
) -> list[Picked]:
    """Pick up to `count` questions; deterministic for the same inputs and seed."""
    eligible = [c for c in candidates if filters.match(c) and c.question_id not in exclude]

    def cooled(question_id: str) -> bool:
        shown = last_shown.get(question_id)
        return shown is None or now - shown >= rules.cooldown

    def outside_gap(question_id: str) -> bool:
        shown = last_shown.get(question_id)
        return shown is None or now - shown >= rules.repeat_gap

    picked: list[Picked] = []
    review_budget = max(0, rules.max_reviews - reviews_today)
    due = sorted(
        (c for c in eligible if c.question_id in due_at and due_at[c.question_id] <= now),
        key=lambda c: (due_at[c.question_id], c.question_id),
    )
    for candidate in due:
        if len(picked) >= min(count, review_budget):
            break
        if cooled(candidate.question_id):
            picked.append(Picked(candidate.question_id, "due"))

    fresh = [c for c in eligible if c.question_id not in due_at and outside_gap(c.question_id)]
    random.Random(str(seed)).shuffle(fresh)
    for candidate in fresh:
        if len(picked) >= count:
            break
        picked.append(Picked(candidate.question_id, "new"))

    if len(picked) < count:
        chosen = {p.question_id for p in picked}
        ahead = sorted(
            (
                c
                for c in eligible
                if c.question_id in due_at
                and c.question_id not in chosen
                and due_at[c.question_id] > now
                and outside_gap(c.question_id)
            ),
            key=lambda c: (due_at[c.question_id], c.question_id),
        )
        picked.extend(Picked(c.question_id, "ahead") for c in ahead[: count - len(picked)])
    return picked
