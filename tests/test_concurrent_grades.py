"""Two drillbot cores on one PostgreSQL database grade the same cards at the same moment.

Each core has its own engine and connection pool, as two replicas behind a load balancer
do; a member's 🟢 reaches one and their 🔴 the other. Every event must be applied: the
first adds the grade, the second changes it.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

from bot.domain.grades import Grade
from bot.storage.models import Grade as GradeRow
from bot.storage.models import GradeEvent, ReviewLog, SrsCard
from tests.harness import Harness

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CARDS = 8


async def test_conflicting_reactions_on_two_replicas_are_all_applied(postgres_url: str) -> None:
    first = await Harness.start(database_url=postgres_url, now=START)
    second = await Harness.start(database_url=postgres_url, now=START)
    second._ids = itertools.count(100_000)  # its own event ids, as another replica's are
    try:
        await first.command("drill", count=CARDS)
        cards = first.port.cards()
        assert len(cards) == CARDS
        refs = [first.port.delivery_of_card(card.post_id).message_ref for card in cards]
        for _ in range(3):  # a few rounds: the race is real, not arranged
            await asyncio.gather(
                *(first.react(ref, Grade.STRONG) for ref in refs),
                *(second.react(ref, Grade.NO) for ref in refs),
            )
            await asyncio.gather(
                *(first.unreact(ref, None) for ref in refs),
                *(second.react(ref, Grade.LEAN) for ref in refs),
            )
        grades = await first.rows(GradeRow)
        events = await first.rows(GradeEvent)
        srs_cards = await first.rows(SrsCard)
        live_reviews = await first.rows(ReviewLog, ReviewLog.superseded.is_(False))
    finally:
        await first.close()
        await second.close()
    assert len(srs_cards) == CARDS  # one card per question, whoever created it
    # Every event was applied: each concurrent pair adds and changes, changes twice, or
    # removes and adds (or changes and removes): two grade events a pair, never fewer.
    assert len(events) == CARDS * 3 * 2 * 2
    # Each post ends with at most one grade, and each card's review count agrees with it.
    assert len({g.post_id for g in grades}) == len(grades) <= CARDS
    graded = {g.question_id for g in grades}
    assert {c.question_id: c.reviews for c in srs_cards} == {
        c.question_id: int(c.question_id in graded) for c in srs_cards
    }
    assert len(live_reviews) == len(grades)


async def test_a_retried_event_reaching_the_other_replica_is_applied_once(
    postgres_url: str,
) -> None:
    first = await Harness.start(database_url=postgres_url, now=START)
    second = await Harness.start(database_url=postgres_url, now=START)
    try:
        await first.command("drill", count=CARDS)
        refs = [first.port.delivery_of_card(c.post_id).message_ref for c in first.port.cards()]
        # Slack retries an event it got no answer for; the retry lands on the other replica.
        await asyncio.gather(
            *(first.react(ref, Grade.STRONG, event_id=f"Ev{n}") for n, ref in enumerate(refs)),
            *(second.react(ref, Grade.STRONG, event_id=f"Ev{n}") for n, ref in enumerate(refs)),
        )
        events = await first.rows(GradeEvent)
        srs_cards = await first.rows(SrsCard)
    finally:
        await first.close()
        await second.close()
    assert len(events) == CARDS and {e.action for e in events} == {"add"}
    assert [c.reviews for c in srs_cards] == [1] * CARDS
