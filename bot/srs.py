"""The FSRS scheduler, configured for one post a day.

drillbot asks at most once a day, so FSRS' minute-scale learning steps are switched off
(`learning_steps=()`, `relearning_steps=()`): a No Hire comes back the next day, not in
ten minutes. Fuzzing is off so that the same grades always give the same schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import fsrs

from bot.domain.grades import Grade


@dataclass(frozen=True)
class Review:
    card: dict[str, Any]
    log: dict[str, Any]
    due: datetime


class Srs:
    def __init__(self, *, desired_retention: float = 0.9) -> None:
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
        return Review(card=updated.to_dict(), log=log.to_dict(), due=updated.due)

    def retrievability(self, card: dict[str, Any], *, at: datetime) -> float:
        return self._scheduler.get_card_retrievability(
            fsrs.Card.from_dict(card), current_datetime=at
        )
