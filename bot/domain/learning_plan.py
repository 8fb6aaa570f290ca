"""A member's learning plan: how many new questions a day, and whether the tracks are
covered in time for their interview.

Without a goal the member's own counts are the pace. With an interview date, new
questions are spread evenly over the drill days left before a week ahead of it (that
last week is for reviews), never more than the member's daily counts; when even those
are too few, the plan says so and names the daily count that would fit.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

# New material stops this long before the interview, so the last days are reviews.
GOAL_MARGIN = timedelta(days=7)
# The most new questions a daily drill takes: 10 quick-fire and 5 screening.
MAX_NEW_PER_DAY = 15


def drill_days(
    *, start: date, end: date, days: Collection[int], review_only: Collection[int] = ()
) -> int:
    """The days from `start` to `end` inclusive that bring new questions."""
    if end < start:
        return 0
    new_days = set(days) - set(review_only)
    if not new_days:
        return 0
    total = (end - start).days + 1
    weeks, rest = divmod(total, 7)
    count = weeks * len(new_days)
    first = start.weekday()
    count += sum(1 for offset in range(rest) if (first + offset) % 7 in new_days)
    return count


@dataclass(frozen=True)
class Pace:
    """How new questions are paced for a member today."""

    new_today: int  # new questions in today's drill (0 on a review-only day)
    budget: int  # the member's daily new-question count
    unseen: int  # questions of their tracks not seen yet
    days_left: int | None  # drill days until the goal's cut-off (None: no goal)
    needed: int | None  # new questions a day the goal needs (None: no goal)

    @property
    def fits(self) -> bool:
        return self.needed is None or self.needed <= self.budget


def pace(
    *,
    today: date,
    budget: int,
    unseen: int,
    days: Collection[int],
    review_only: Collection[int] = (),
    goal: date | None = None,
) -> Pace:
    """Today's new-question count for a member with `unseen` questions left."""
    if today.weekday() in review_only or today.weekday() not in days:
        today_count = 0
    else:
        today_count = min(budget, unseen)
    if goal is None:
        return Pace(today_count, budget, unseen, None, None)
    cut_off = goal - GOAL_MARGIN
    left = drill_days(start=today, end=cut_off, days=days, review_only=review_only)
    if left <= 0:
        # Past the cut-off: whatever is still unseen comes at the member's own pace.
        return Pace(today_count, budget, unseen, 0, None if unseen == 0 else unseen)
    needed = math.ceil(unseen / left)
    return Pace(min(today_count, needed), budget, unseen, left, needed)


def earliest_goal(
    *, today: date, unseen: int, budget: int, days: Collection[int], review_only: Collection[int]
) -> date | None:
    """The first interview date whose cut-off leaves enough drill days for `unseen`
    questions at `budget` a day (None if no day brings new questions)."""
    new_days = set(days) - set(review_only)
    if budget <= 0 or not new_days:
        return None
    needed = math.ceil(unseen / budget)
    day, counted = today, 0
    while counted < needed:
        counted += day.weekday() in new_days
        day += timedelta(days=1)
    return day - timedelta(days=1) + GOAL_MARGIN


def split_new(count: int, slots: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    """Share `count` new questions among the drill's level slots, one at a time from the
    last slot, each slot at most its own count: a two-question day of a 3 + 1 drill is
    one quick-fire and one screening question, not two quick-fire."""
    shares = [0] * len(slots)
    left = count
    while left > 0 and any(shares[i] < slots[i][1] for i in range(len(slots))):
        for index in reversed(range(len(slots))):
            if left > 0 and shares[index] < slots[index][1]:
                shares[index] += 1
                left -= 1
    return tuple((level, share) for (level, _), share in zip(slots, shares, strict=True))
