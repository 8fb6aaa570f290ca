"""The review schedule: FSRS configured for one drill a day, or the sources' fixed plan.

drillbot asks at most once a day, so FSRS' minute-scale learning steps are switched off
(`learning_steps=()`, `relearning_steps=()`); instead a first-sight Lean or No Hire
comes back in the next day's drill (a one-day learning step), as does a No Hire on a
known question, never ten minutes later.
Fuzzing is off so that the same grades always give the same schedule. The defaults
were chosen with `bench/learning.py` (docs/benchmarks.md has the figures).

``schedule="fixed"`` is the source banks' plan instead: a question comes back 3, 7, 14
and 21 days after it was first seen, then every 21 days, whatever the grades. The FSRS
card is still kept up to date beside it, so recall estimates and the review logs stay
comparable when a team tries both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import fsrs

from bot.domain.grades import Grade

SCHEDULES = ("fsrs", "fixed")
Schedule = Literal["fsrs", "fixed"]

# Days after first sight on which the fixed plan asks again; then every FIXED_LAST_GAP.
FIXED_PLAN_DAYS = (3, 7, 14, 21)
FIXED_LAST_GAP = 21
# The key under which the fixed plan keeps its place in fsrs' card JSON.
FIXED_KEY = "fixed_plan"

DEFAULT_RETENTION = 0.85
LEARNING_STEP = timedelta(days=1)


@dataclass(frozen=True)
class Review:
    card: dict[str, Any]
    log: dict[str, Any]
    due: datetime


def fixed_plan_due(*, first_seen: datetime, reviews_done: int) -> datetime:
    """When the fixed plan asks next, after `reviews_done` reviews (the first sight is one)."""
    if reviews_done <= len(FIXED_PLAN_DAYS):
        return first_seen + timedelta(days=FIXED_PLAN_DAYS[reviews_done - 1])
    extra = reviews_done - len(FIXED_PLAN_DAYS)
    return first_seen + timedelta(days=FIXED_PLAN_DAYS[-1] + FIXED_LAST_GAP * extra)


class Srs:
    def __init__(
        self, *, desired_retention: float = DEFAULT_RETENTION, schedule: Schedule = "fsrs"
    ) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, not {schedule!r}")
        self.schedule = schedule
        self.desired_retention = desired_retention
        self._scheduler = fsrs.Scheduler(
            desired_retention=desired_retention,
            learning_steps=(),
            relearning_steps=(),
            enable_fuzzing=False,
        )

    def new_card(self, *, now: datetime, card_id: int | None = None) -> dict[str, Any]:
        # fsrs makes its own id from the clock and sleeps a millisecond to keep it unique;
        # drillbot keys cards by member and question, so any stable number will do.
        return fsrs.Card(card_id=card_id or int(now.timestamp() * 1000), due=now).to_dict()

    def review(self, card: dict[str, Any], grade: Grade, *, at: datetime) -> Review:
        updated, log = self._scheduler.review_card(
            fsrs.Card.from_dict(card), grade.rating, review_datetime=at
        )
        data = updated.to_dict()
        due = updated.due
        if self.schedule == "fsrs" and grade is not Grade.STRONG and not card.get("last_review"):
            # A first sight that went less than well is asked again in the next drill,
            # even where FSRS' stability would allow two days: a one-day learning step.
            due = min(due, at + LEARNING_STEP)
            data["due"] = due.isoformat()
        if self.schedule == "fixed":
            place = card.get(FIXED_KEY) or {"first_seen": at.isoformat(), "reviews": 0}
            place = {"first_seen": place["first_seen"], "reviews": place["reviews"] + 1}
            due = fixed_plan_due(
                first_seen=datetime.fromisoformat(place["first_seen"]),
                reviews_done=place["reviews"],
            )
            data[FIXED_KEY] = place
            data["due"] = due.isoformat()
        elif FIXED_KEY in card:
            data[FIXED_KEY] = card[FIXED_KEY]  # kept, in case the member switches back
        return Review(card=data, log=log.to_dict(), due=due)

    def retrievability(self, card: dict[str, Any], *, at: datetime) -> float:
        return self._scheduler.get_card_retrievability(
            fsrs.Card.from_dict(card), current_datetime=at
        )
