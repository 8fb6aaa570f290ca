"""The inbound journal: events are stored before they are acknowledged, processed in
arrival order per member, recovered after a crash, and kept when they keep failing."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain.grades import Grade
from bot.events import (
    Actor,
    ButtonPressed,
    CommandInvoked,
    Conversation,
    ReactionAdded,
    ReactionRemoved,
)
from bot.inbound import journal
from bot.inbound.codec import UndecodableEvent, decode, encode
from bot.ops.metrics import Metrics
from bot.ops.readiness import check_ready
from bot.storage.database import transaction
from bot.storage.models import Grade as GradeRow
from bot.storage.models import GradeEvent, InboundEvent
from tests.harness import PLATFORM, Harness

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ANA = Actor(platform=PLATFORM, team_ref="T1", user_ref="ana", display_name="Ana")
DM = Conversation(channel_ref="D-ana", is_dm=True, reply_token="token")


@pytest.mark.parametrize(
    "event",
    [
        CommandInvoked(
            event_id="c1",
            actor=ANA,
            conversation=DM,
            command="drillbot subscribe",
            args={
                "time": time(7, 45),
                "timezone": "Europe/Berlin",
                "days": (0, 2, 4),
                "tracks": ("llm",),
                "quickfire": 2,
                "screening": None,
                "reviewonly": (),
            },
        ),
        CommandInvoked(
            event_id="c2",
            actor=ANA,
            conversation=DM,
            command="drillbot goal",
            args={"date": date(2027, 3, 1)},
        ),
        CommandInvoked(
            event_id="c3", actor=ANA, conversation=DM, command="drillbot goal", args={"date": "off"}
        ),
        ReactionAdded(event_id="r1", actor=ANA, conversation=DM, message_ref="1.2", grade=Grade.NO),
        ReactionRemoved(event_id="r2", actor=ANA, conversation=DM, message_ref="1.2"),
        ButtonPressed(
            event_id="b1",
            actor=ANA,
            conversation=DM,
            message_ref="1.2",
            post_id=7,
            action="grade",
            grade=Grade.LEAN,
        ),
    ],
    ids=lambda event: event.event_id,
)
def test_a_stored_event_reads_back_as_the_same_event(event) -> None:
    assert decode(encode(event)) == event


def test_a_payload_this_version_cannot_read_says_so() -> None:
    with pytest.raises(UndecodableEvent, match="cannot be read"):
        decode({"type": "Teleported", "actor": {}, "conversation": {}, "fields": {}})


def reaction(harness: Harness, message_ref: str, grade: Grade | None, event_id: str):
    actor = harness.actor("ana")
    conversation = harness.dm("ana")
    if grade is None:
        return ReactionRemoved(
            event_id=event_id, actor=actor, conversation=conversation, message_ref=message_ref
        )
    return ReactionAdded(
        event_id=event_id,
        actor=actor,
        conversation=conversation,
        message_ref=message_ref,
        grade=grade,
    )


async def stored_but_not_processed(harness: Harness, events) -> None:
    """What a crash between the acknowledgement and the processing leaves behind."""
    for event in events:
        assert await harness.service.receive(event)


async def test_events_stored_before_a_crash_are_applied_once_after_the_restart(
    database_url: str,
) -> None:
    first = await Harness.start(database_url=database_url, now=START)
    await first.command("drill", count=3)
    refs = [first.port.delivery_of_card(c.post_id).message_ref for c in first.port.cards()]
    await stored_but_not_processed(
        first, [reaction(first, ref, Grade.STRONG, f"Ev{n}") for n, ref in enumerate(refs)]
    )
    await first.close()  # the process dies with three acknowledged grades unprocessed

    second = await Harness.start(database_url=database_url, now=START + timedelta(minutes=1))
    try:
        assert await second.service.inbound_backlog() == 3
        assert await second.service.process_backlog(min_age=timedelta(0)) == 1  # one member
        assert await second.service.process_backlog(min_age=timedelta(0)) == 0
        grades = await second.rows(GradeRow)
        assert sorted(g.grade for g in grades) == ["strong"] * 3
        assert await second.service.inbound_backlog() == 0
        # A retry of one of them from the platform changes nothing.
        await second.service.handle(reaction(second, refs[0], Grade.STRONG, "Ev0"))
        assert len(await second.rows(GradeEvent)) == 3
    finally:
        await second.close()


async def test_a_running_replica_picks_up_what_another_left(harness: Harness) -> None:
    await harness.command("drill", count=1)
    (card,) = harness.port.cards()
    ref = harness.port.delivery_of_card(card.post_id).message_ref
    await stored_but_not_processed(harness, [reaction(harness, ref, Grade.LEAN, "Ev-left")])
    await harness.tick()
    assert await harness.rows(GradeRow) == []  # fresh: its own process is still on it
    harness.clock.advance(timedelta(seconds=31))
    report = await harness.tick()
    assert report.inbound_recovered == 1
    (grade,) = await harness.rows(GradeRow)
    assert grade.grade == "lean"


async def test_an_add_then_a_remove_ends_with_no_grade(database_url: str) -> None:
    first = await Harness.start(database_url=database_url, now=START)
    others = [first]
    if "postgresql" in database_url:  # two replicas race for the same member's events
        second = await Harness.start(database_url=database_url, now=START)
        others.append(second)
    try:
        await first.command("drill", count=4)
        refs = [first.port.delivery_of_card(c.post_id).message_ref for c in first.port.cards()]
        ids = itertools.count()
        for ref in refs:
            await stored_but_not_processed(
                first,
                [
                    reaction(first, ref, Grade.STRONG, f"Ev{next(ids)}"),
                    reaction(first, ref, None, f"Ev{next(ids)}"),
                ],
            )
        key = journal.actor_key(first.actor("ana"))
        await asyncio.gather(*(h.service.process_pending(key) for h in others))
        assert await first.rows(GradeRow) == []
        actions = [e.action for e in await first.rows(GradeEvent)]
        assert actions == ["add", "remove"] * 4  # in arrival order, each once
    finally:
        for harness in others:
            await harness.close()


async def test_an_event_waits_behind_its_senders_older_stored_events(harness: Harness) -> None:
    """An event handled at once must not overtake the sender's events stored before it
    (acknowledged, then cut off by a crash): the add comes first, then the remove."""
    await harness.command("drill", count=1)
    (card,) = harness.port.cards()
    ref = harness.port.delivery_of_card(card.post_id).message_ref
    await stored_but_not_processed(harness, [reaction(harness, ref, Grade.STRONG, "Ev-add")])
    await harness.service.handle(reaction(harness, ref, None, "Ev-remove"))
    assert await harness.rows(GradeRow) == []
    assert [e.action for e in await harness.rows(GradeEvent)] == ["add", "remove"]
    assert await harness.service.inbound_backlog() == 0


async def test_an_event_that_keeps_failing_is_kept_as_a_dead_letter(database_url: str) -> None:
    metrics = Metrics()
    harness = await Harness.start(database_url=database_url, now=START, metrics=metrics)
    try:
        await harness.command("drill", count=1)
        (card,) = harness.port.cards()
        ref = harness.port.delivery_of_card(card.post_id).message_ref
        key = journal.actor_key(harness.actor("ana"))
        async with transaction(harness.app.sessions) as session:
            await journal.store(
                session,
                platform=PLATFORM,
                event_id="Ev-broken",
                key=key,
                payload={"type": "Teleported", "fields": {}},
                now=START,
            )
        # The member's next event is not held up behind the broken one.
        await harness.service.handle(reaction(harness, ref, Grade.NO, "Ev-after"))
        (grade,) = await harness.rows(GradeRow)
        assert grade.grade == "no"
        (dead,) = await harness.rows(InboundEvent, InboundEvent.status == "dead")
        assert dead.event_id == "Ev-broken" and "cannot be read" in (dead.last_error or "")
        assert b"drillbot_inbound_dead_letters_total 1.0" in metrics.render()
    finally:
        await harness.close()


async def test_processed_events_keep_only_their_id_and_are_pruned(harness: Harness) -> None:
    await harness.command("drill", count=1)
    (entry,) = await harness.rows(InboundEvent)
    assert entry.status == "done" and entry.payload is None  # no reply token, no words
    harness.clock.advance(timedelta(days=8))
    await harness.tick()
    assert await harness.rows(InboundEvent) == []


async def test_forget_me_deletes_what_the_journal_kept(harness: Harness) -> None:
    await harness.command("drill", count=2)
    await harness.command("drillbot forget-me", confirm="confirm")
    key = journal.actor_key(harness.actor("ana"))
    (left,) = await harness.rows(InboundEvent, InboundEvent.actor_key == key)
    assert left.payload is None  # the forget-me itself, by id only


async def test_readiness_reports_a_backlog_over_the_limit(database_url: str) -> None:
    harness = await Harness.start(
        database_url=database_url, now=START, config={"inbound": {"backlog_limit": 100}}
    )
    try:
        await stored_but_not_processed(
            harness,
            [reaction(harness, "1.2", Grade.STRONG, f"Ev{n}") for n in range(101)],
        )
        ready, reasons = await check_ready(harness.app)
        assert not ready
        assert reasons == [
            "101 inbound events wait to be processed (limit 100); "
            "acknowledging is slowed until the backlog shrinks"
        ]
        await harness.service.process_backlog(min_age=timedelta(0))
        assert (await check_ready(harness.app))[0]
    finally:
        await harness.close()
