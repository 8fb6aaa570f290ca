"""Ranking rules for the weekly leaderboard. Pure: the numbers come in, rows go out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Standing:
    member_id: int
    display_name: str
    completed: int
    streak_weeks: int
    mean_grade: float | None
    rank: int


def rank(
    *,
    completed: Mapping[int, int],
    names: Mapping[int, str],
    streaks: Mapping[int, int],
    means: Mapping[int, float],
    hidden: Collection[int] = (),
) -> list[Standing]:
    """Most completed rounds first; ties share a rank (1, 1, 3) and are listed by name."""
    entries = sorted(
        (
            (member, count)
            for member, count in completed.items()
            if count > 0 and member not in hidden
        ),
        key=lambda item: (-item[1], names.get(item[0], "").lower(), item[0]),
    )
    standings: list[Standing] = []
    previous: int | None = None
    current_rank = 0
    for position, (member, count) in enumerate(entries, start=1):
        if count != previous:
            current_rank = position
            previous = count
        standings.append(
            Standing(
                member_id=member,
                display_name=names.get(member, str(member)),
                completed=count,
                streak_weeks=streaks.get(member, 0),
                mean_grade=means.get(member),
                rank=current_rank,
            )
        )
    return standings
