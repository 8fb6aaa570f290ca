"""A member's plan ahead: questions seen, reviews a day in the coming weeks, and the
recall FSRS predicts at their interview date.

The projection replays the schedule forward on a typical path: each review recalled
(Strong Hire), each new question's first sight a Lean Hire (as most first answers
are), new questions arriving at the member's pace on their drill days. Real grades will
differ; the figures say what the plan costs if it goes as intended, which is what a
member needs to choose a budget.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.domain.grades import Grade
from bot.domain.learning_plan import GOAL_MARGIN, MAX_NEW_PER_DAY, Pace, earliest_goal
from bot.srs import Srs

FORECAST_WEEKS = 4
FIRST_SIGHT = Grade.LEAN


@dataclass(frozen=True)
class Forecast:
    seen: int
    available: int
    pace: Pace
    reviews_per_day: tuple[float, ...]  # expected reviews a drill day, week by week
    recall_at_goal: float | None  # mean predicted recall of the tracks' questions
    covered_at_goal: int | None  # questions seen by the goal's cut-off
    review_cap: int
    earliest_goal: date | None = None  # the first date the budget can cover, if not the goal

    def describe(self, *, goal: date | None) -> list[str]:
        """Lines for /drillbot settings and /stats."""
        lines = [f"Seen {self.seen} of {self.available} questions in your tracks."]
        pace = self.pace
        if goal is not None:
            cut_off = goal - GOAL_MARGIN
            if pace.unseen == 0:
                lines.append(f"Everything is seen; until {goal:%d %b %Y} your drills are reviews.")
            elif not pace.days_left:
                lines.append(
                    f"Interview {goal:%d %b %Y}: less than a week away, so {pace.unseen} "
                    "unseen questions come at your own pace; reviews come first."
                )
            elif pace.fits:
                lines.append(
                    f"Interview {goal:%d %b %Y}: {pace.unseen} new to go over "
                    f"{pace.days_left} drill days before {cut_off:%d %b}: "
                    f"{pace.needed} a day (your budget {pace.budget})."
                )
            else:
                needs = (
                    f"Interview {goal:%d %b %Y}: {pace.unseen} new in {pace.days_left} drill "
                    f"days needs {pace.needed} a day, more than your {pace.budget}."
                )
                later = (
                    f"at {pace.budget} a day the earliest date that fits is "
                    f"{self.earliest_goal:%d %b %Y}"
                    if self.earliest_goal
                    else "choose a later date"
                )
                if pace.needed <= MAX_NEW_PER_DAY:
                    lines.append(
                        f"{needs} Raise it (/drillbot subscribe quickfire=N screening=N "
                        f"adding up to {pace.needed}), or {later}."
                    )
                else:
                    lines.append(
                        f"{needs} That is more than a drill takes ({MAX_NEW_PER_DAY}): {later}."
                    )
        else:
            lines.append(f"New questions a drill day: {pace.budget} (no interview date set).")
        if self.reviews_per_day:
            weeks = ", ".join(
                f"week {n}: {per_day:.1f}" for n, per_day in enumerate(self.reviews_per_day, 1)
            )
            lines.append(f"Expected reviews a drill day: {weeks} (cap {self.review_cap}).")
            if max(self.reviews_per_day) > self.review_cap:
                lines.append(
                    "That is above the review cap: the most overdue come first and the rest "
                    "wait a day; fewer new questions a day would keep up."
                )
        if self.recall_at_goal is not None and goal is not None:
            lines.append(
                f"Predicted recall on {goal:%d %b}: {self.recall_at_goal:.0%} of the "
                f"{self.covered_at_goal} questions seen by then."
            )
        return lines


def forecast(
    *,
    srs: Srs,
    cards: Iterable[Mapping[str, Any]],
    seen: int,
    available: int,
    pace: Pace,
    today: date,
    days: Collection[int],
    review_only: Collection[int],
    goal: date | None,
    review_cap: int,
) -> Forecast:
    """Project `cards` (fsrs card JSON of the member's graded questions) and the new
    questions still to come over the next weeks, or up to the goal."""
    start = datetime.combine(today, time(12), tzinfo=UTC)
    horizon_days = FORECAST_WEEKS * 7
    at_goal = None
    if goal is not None:
        horizon_days = max(horizon_days, (goal - today).days)
        at_goal = datetime.combine(goal, time(9), tzinfo=UTC)
    horizon = start + timedelta(days=horizon_days)
    reviews_by_day: dict[int, int] = {}
    on_the_day: list[dict[str, Any]] = []  # each card seen by the goal, as it stands then

    def replay(card: dict[str, Any], due: datetime) -> None:
        as_of_goal = card
        while due <= horizon:
            offset = max(0, (due.date() - today).days)
            reviews_by_day[offset] = reviews_by_day.get(offset, 0) + 1
            reviewed_at = max(due, start)
            review = srs.review(card, Grade.STRONG, at=reviewed_at)
            card, due = review.card, review.due
            if at_goal is not None and reviewed_at <= at_goal:
                as_of_goal = card
        if at_goal is not None:
            on_the_day.append(as_of_goal)

    for card in cards:
        replay(dict(card), datetime.fromisoformat(card["due"]))
    unseen = pace.unseen
    per_day = min(pace.needed, pace.budget) if pace.needed else pace.budget
    new_days = set(days) - set(review_only)
    offset = 0
    while unseen > 0 and offset <= horizon_days and per_day > 0:
        day = today + timedelta(days=offset)
        at = start + timedelta(days=offset)
        if day.weekday() in new_days and (at_goal is None or at < at_goal):
            for _ in range(min(per_day, unseen)):
                first = srs.review(srs.new_card(now=at, card_id=1), FIRST_SIGHT, at=at)
                replay(first.card, first.due)
            unseen -= min(per_day, unseen)
        offset += 1
    drill_days_per_week = max(1, len(set(days)))
    weekly = tuple(
        sum(reviews_by_day.get(d, 0) for d in range(week * 7, week * 7 + 7)) / drill_days_per_week
        for week in range(FORECAST_WEEKS)
    )
    recall = covered = earliest = None
    if goal is not None and not pace.fits:
        earliest = earliest_goal(
            today=today,
            unseen=pace.unseen,
            budget=pace.budget,
            days=days,
            review_only=review_only,
        )
    if at_goal is not None:
        recalls = [srs.retrievability(card, at=at_goal) for card in on_the_day]
        covered = len(recalls)
        recall = math.fsum(recalls) / covered if covered else None
    return Forecast(
        seen=seen,
        available=available,
        pace=pace,
        reviews_per_day=weekly,
        recall_at_goal=recall,
        covered_at_goal=covered,
        review_cap=review_cap,
        earliest_goal=earliest,
    )
