"""Daily DM drills and channel questions: at the member's local time, once, on time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.domain.grades import Grade
from bot.ports import PlatformError
from bot.storage.database import transaction
from bot.storage.models import Grade as GradeRow
from bot.storage.models import Member, Post, Subscription
from bot.storage.repository import find_posts_by_message
from tests.harness import Harness


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def dm_keys(harness: Harness) -> list[str]:
    return [card.heading for card in harness.port.cards()]


async def posts(harness: Harness, kind: str = "dm") -> list[Post]:
    return sorted(await harness.rows(Post, Post.kind == kind), key=lambda p: p.id)


async def test_subscribe_shows_the_next_run_in_local_time_and_utc(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe", time="09:15", timezone="America/New_York", days="weekdays"
    )
    text = harness.last_text()
    assert "09:15 America/New_York on weekdays" in text
    assert "3 quick-fire + 1 screening" in text
    assert "Mon 23 Nov 09:15 EST (14:15 UTC, 2026-11-23)" in text
    await harness.command("drillbot settings")
    assert "Next drill: Mon 23 Nov 09:15 EST" in harness.last_text()


async def test_a_zone_given_to_subscribe_becomes_the_zone_times_are_shown_in(
    harness: Harness,
) -> None:
    await harness.command("drillbot settings")
    assert "Your timezone: UTC" in harness.last_text()
    await harness.command(
        "drillbot subscribe", time="07:45", timezone="Europe/Berlin", days="weekdays"
    )
    assert "Your timezone is now Europe/Berlin" in harness.last_text()
    await harness.command("drillbot settings")
    assert "Your timezone: Europe/Berlin (the times drillbot shows you" in harness.last_text()
    await harness.command("mock")  # started at 08:00 UTC: 09:00 in Berlin
    intro = next(t for t in harness.port.texts() if t.startswith("*Mock interview"))
    assert " CET)" in intro and " UTC)" not in intro


async def test_the_daily_drill_arrives_at_local_time_once(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe", time="08:30", timezone="Europe/Berlin", days="daily"
    )
    await harness.run_until(
        utc(2026, 11, 24, 7, 29), step=timedelta(minutes=30)
    )  # Tuesday 08:29 Berlin: nothing yet
    assert harness.port.cards() == []
    await harness.run_until(utc(2026, 11, 24, 7, 35))
    cards = harness.port.cards()
    levels = [c.level for c in cards]
    # The small bank has 2 quick-fire questions: the third quick-fire slot takes the next
    # level's, so the member still gets their four new questions.
    assert levels == ["quickfire", "quickfire", "screening", "screening"]
    assert [p.key for p in await posts(harness)] == [f"dm:1:2026-11-24:{n}" for n in (1, 2, 3, 4)]
    assert all(p.sent_at and p.sent_at <= utc(2026, 11, 24, 7, 31) for p in await posts(harness))
    await harness.run_until(utc(2026, 11, 24, 12, 0), step=timedelta(minutes=30))
    assert len(harness.port.cards()) == 4  # still once
    assert "Daily drill 1/4" in cards[0].heading


async def test_grading_a_daily_card_feeds_fsrs_and_the_next_day(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe", time="08:00", timezone="UTC", days="daily", quickfire=1, screening=0
    )
    await harness.run_until(utc(2026, 11, 24, 8, 1), step=timedelta(minutes=30))
    (card,) = harness.port.cards()
    await harness.react(harness.port.delivery_of_card(card.post_id).message_ref, Grade.NO)
    await harness.run_until(utc(2026, 11, 25, 8, 1), step=timedelta(minutes=30))
    second = harness.port.cards()[-1]
    assert second.question_id == card.question_id  # a No Hire is due the next day
    assert "review" in second.heading


async def test_spring_forward_in_berlin_runs_at_three(database_url: str) -> None:
    harness = await Harness.start(database_url=database_url, now=utc(2026, 3, 28, 12, 0))
    try:
        await harness.command(
            "drillbot subscribe", time="02:30", timezone="Europe/Berlin", days="daily"
        )
        await harness.run_until(utc(2026, 3, 29, 0, 59), step=timedelta(minutes=30))
        assert harness.port.cards() == []
        await harness.run_until(utc(2026, 3, 29, 1, 2))
        assert len(harness.port.cards()) == 4
        (first, *_) = await posts(harness)
        assert first.key.startswith("dm:1:2026-03-29:")
        assert first.sent_at == utc(2026, 3, 29, 1, 0)
    finally:
        await harness.close()


async def test_fall_back_in_new_york_runs_once(database_url: str) -> None:
    harness = await Harness.start(database_url=database_url, now=utc(2026, 10, 31, 12, 0))
    try:
        await harness.command(
            "drillbot subscribe",
            time="01:30",
            timezone="America/New_York",
            days="daily",
            quickfire=1,
            screening=0,
        )
        await harness.jump_through(utc(2026, 11, 1, 12, 0))
        sent = await posts(harness)
        assert [(p.key, p.sent_at) for p in sent] == [
            ("dm:1:2026-11-01:1", utc(2026, 11, 1, 5, 30))
        ]
    finally:
        await harness.close()


async def test_far_timezones_get_their_own_local_date(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe",
        user="kiri",
        time="07:00",
        timezone="Pacific/Kiritimati",
        days="mon",
        quickfire=1,
        screening=0,
    )
    await harness.command(
        "drillbot subscribe",
        user="pago",
        time="07:00",
        timezone="Pacific/Pago_Pago",
        days="mon",
        quickfire=1,
        screening=0,
    )
    await harness.jump_through(utc(2026, 12, 1, 0, 0))
    sent = {p.key: p.sent_at for p in await posts(harness)}
    members = {m.external_id: m.id for m in await harness.rows(Member)}
    # Monday 07:00 in UTC+14 is Sunday 17:00 UTC; in UTC-11 it is Monday 18:00 UTC. The
    # test starts on Monday 23 Nov 08:00 UTC: Kiritimati's Monday is over, Pago Pago's not.
    assert sent == {
        f"dm:{members['pago']}:2026-11-23:1": utc(2026, 11, 23, 18, 0),
        f"dm:{members['kiri']}:2026-11-30:1": utc(2026, 11, 29, 17, 0),
        f"dm:{members['pago']}:2026-11-30:1": utc(2026, 11, 30, 18, 0),
    }


async def test_pause_and_resume(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe", time="08:00", timezone="UTC", days="daily", quickfire=1, screening=0
    )
    await harness.command("drillbot pause", date="2026-11-26")
    assert "Paused until Thu 26 Nov 2026" in harness.last_text()
    assert "Next drill: Thu 26 Nov 08:00" in harness.last_text()
    await harness.jump_through(utc(2026, 11, 26, 9, 0))
    assert [p.key for p in await posts(harness)] == ["dm:1:2026-11-26:1"]

    await harness.command("drillbot pause")
    assert "Paused until you /drillbot resume" in harness.last_text()
    await harness.command("drillbot settings")
    assert "Next drill" not in harness.last_text() and "9999" not in harness.last_text()
    await harness.run_until(utc(2026, 11, 28, 9, 0), step=timedelta(hours=1))
    assert len(await posts(harness)) == 1
    await harness.command("drillbot resume")
    assert "Next drill: Sun 29 Nov 08:00" in harness.last_text()
    await harness.command("drillbot pause", date="2026-11-01")
    assert "is not in the future" in harness.last_text()


async def test_a_settings_change_between_runs_moves_the_next_run(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe", time="08:00", timezone="UTC", days="daily", quickfire=1, screening=0
    )
    await harness.run_until(utc(2026, 11, 24, 8, 5), step=timedelta(minutes=30))
    await harness.command("drillbot subscribe", time="10:00")  # same day, later: not twice
    await harness.run_until(utc(2026, 11, 24, 12, 0), step=timedelta(minutes=10))
    assert len(await posts(harness)) == 1
    await harness.jump_through(utc(2026, 11, 25, 12, 0))
    sent = await posts(harness)
    assert [(p.key, p.sent_at.hour) for p in sent] == [
        ("dm:1:2026-11-24:1", 8),
        ("dm:1:2026-11-25:1", 10),
    ]


async def test_unsubscribe_stops_the_drill(harness: Harness) -> None:
    await harness.command("drillbot subscribe", time="08:00", timezone="UTC", days="daily")
    await harness.command("drillbot unsubscribe")
    await harness.jump_through(utc(2026, 11, 30, 0, 0))
    assert await posts(harness) == []
    await harness.command("drillbot settings")
    assert "Daily drill: off" in harness.last_text()


async def test_after_downtime_a_recent_run_is_sent_and_old_ones_are_not(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe", time="08:00", timezone="UTC", days="daily", quickfire=1, screening=0
    )
    harness.clock.set(utc(2026, 11, 27, 11, 0))  # down for three days; 3 h late today
    await harness.tick()
    assert [p.key for p in await posts(harness)] == ["dm:1:2026-11-27:1"]

    harness.clock.set(utc(2026, 11, 30, 15, 0))  # down again; today's run is 7 h late
    report = await harness.tick()
    assert report.skipped_late == 1
    assert len(await posts(harness)) == 1
    (subscription,) = await harness.rows(Subscription)
    assert subscription.next_run_at == utc(2026, 12, 1, 8, 0)


async def test_a_restart_between_insert_and_send_posts_exactly_once(database_url: str) -> None:
    first = await Harness.start(database_url=database_url, now=utc(2026, 11, 23, 7, 0))
    await first.command("drillbot subscribe", time="08:00", timezone="UTC", days="daily")
    first.clock.set(utc(2026, 11, 23, 8, 0))
    ids = await first.app.dispatcher._claim_subscriptions(first.app.dispatcher.totals)
    assert len(ids) == 4 and first.port.cards() == []  # inserted, then the process dies
    await first.close()

    second = await Harness.start(database_url=database_url, now=utc(2026, 11, 23, 8, 0, 20))
    try:
        await second.tick()
        assert second.port.cards() == []  # the dead instance's lease has not expired yet
        second.clock.set(utc(2026, 11, 23, 8, 0, 31))  # 30 s lease
        await second.tick()
        await second.tick()
        assert len(second.port.cards()) == 4
        assert {p.status for p in await second.rows(Post)} == {"sent"}
    finally:
        await second.close()


async def test_channel_daily_question_is_admin_only_and_posts_once(harness: Harness) -> None:
    await harness.command(
        "drillbot channel daily",
        channel="C-study",
        time="09:00",
        timezone="Europe/Berlin",
        days="mon-fri",
    )
    assert "Only admins" in harness.last_text()
    await harness.command(
        "drillbot channel daily",
        channel="C-study",
        admin=True,
        time="09:00",
        timezone="Europe/Berlin",
        days="mon-fri",
        level="scenario",
    )
    assert "09:00 Europe/Berlin on weekdays (levels: scenario)" in harness.last_text()

    await harness.run_until(utc(2026, 11, 24, 8, 5), step=timedelta(minutes=30))
    (post,) = await posts(harness, "channel")
    assert post.key == "channel:1:2026-11-24" and post.channel_ref == "C-study"
    assert post.question_id == "t-reservoir"
    delivery = harness.port.delivery_of_card(post.id)
    assert delivery.action == "post" and "Question of the day" in delivery.message.heading
    assert harness.port.of("react")[-1].message_ref == delivery.message_ref

    await harness.react(delivery.message_ref, Grade.STRONG, user="ana", channel="C-study")
    await harness.react(delivery.message_ref, Grade.NO, user="ben", channel="C-study")
    from bot.storage.models import Grade as GradeRow

    grades = {g.member_id: g.grade for g in await harness.rows(GradeRow)}
    assert sorted(grades.values()) == ["no", "strong"]

    await harness.command("drillbot channel off", channel="C-study", admin=True)
    await harness.jump_through(utc(2026, 11, 30, 12, 0))
    assert len(await posts(harness, "channel")) == 1


async def test_channel_commands_in_a_dm_explain_where_to_run_them(harness: Harness) -> None:
    await harness.command("drillbot channel daily", admin=True)
    assert "in the channel that should get the question" in harness.last_text()


async def test_a_member_with_closed_dms_is_told_once_in_the_channel(harness: Harness) -> None:
    await harness.command(
        "drillbot channel daily",
        channel="C-study",
        admin=True,
        time="09:00",
        timezone="UTC",
        days="daily",
    )
    await harness.command(
        "drillbot subscribe", user="ben", time="08:00", timezone="UTC", days="daily"
    )
    harness.port.fail_with = lambda action, target: (
        PlatformError("cannot send messages to this user", permanent=True, code="dm_closed")
        if action == "dm" and target == "ben"
        else None
    )
    await harness.run_until(utc(2026, 11, 25, 9, 30), step=timedelta(minutes=15))
    notices = [
        d
        for d in harness.port.of("post")
        if "cannot send you direct messages" in getattr(d.message, "text", "")
    ]
    assert len(notices) == 1 and notices[0].channel_ref == "C-study"
    assert "Ben" in notices[0].message.text
    dm_posts = await posts(harness)
    assert {p.status for p in dm_posts} == {"failed"}
    assert len({p.key.split(":")[2] for p in dm_posts}) == 1  # not retried every day
    (ben,) = await harness.rows(Member, Member.external_id == "ben")
    assert ben.unreachable_at is not None

    harness.port.fail_with = None
    await harness.command("drillbot resume", user="ben")
    (ben,) = await harness.rows(Member, Member.external_id == "ben")
    assert ben.unreachable_at is None


async def test_retry_after_is_honoured(harness: Harness) -> None:
    calls = {"n": 0}

    def flaky(action: str, target: str):
        if action == "dm":
            calls["n"] += 1
            if calls["n"] == 1:
                return PlatformError("rate limited", retry_after=0.01)
        return None

    harness.port.fail_with = flaky
    await harness.command(
        "drillbot subscribe", time="08:30", timezone="UTC", days="daily", quickfire=1, screening=0
    )
    await harness.run_until(utc(2026, 11, 23, 8, 31))
    assert len(harness.port.cards()) == 1 and calls["n"] == 2
    assert harness.service.outbox.limiter("fake").waited_seconds > 0.005  # paused for it


async def test_the_daily_cap_holds_back_a_backlog(database_url: str) -> None:
    harness = await Harness.start(
        database_url=database_url,
        now=utc(2026, 11, 23, 7, 0),
        config={"srs": {"max_reviews_per_day": 1}},
    )
    try:
        await harness.command("drill", count=5)
        for card in harness.port.cards():
            await harness.react(harness.port.delivery_of_card(card.post_id).message_ref, Grade.NO)
        await harness.command(
            "drillbot subscribe",
            time="08:00",
            timezone="UTC",
            days="daily",
            quickfire=2,
            screening=2,
        )
        await harness.jump_through(utc(2026, 11, 25, 9, 0))
        reviews_by_day: dict[str, int] = {}
        for post in await posts(harness):
            day = post.key.split(":")[2]
            reviews_by_day[day] = reviews_by_day.get(day, 0) + ("· review" in post.heading)
        # Monday's five No Hires used up Monday; Tuesday and Wednesday get one review each.
        assert reviews_by_day == {"2026-11-23": 0, "2026-11-24": 1, "2026-11-25": 1}
    finally:
        await harness.close()


async def test_two_dispatchers_on_postgresql_share_a_day(postgres_url: str) -> None:
    start = utc(2026, 11, 23, 0, 0)
    # Small claim batches, so the two dispatchers interleave inside one tick.
    small_batches = {"schedule": {"batch_size": 1}}
    first = await Harness.start(database_url=postgres_url, now=start, config=small_batches)
    second = await Harness.start(database_url=postgres_url, now=start, config=small_batches)
    try:
        await first.subscribe_members(40, local_time=lambda index: f"{index % 24:02d}:00")
        for minute in range(0, 24 * 60 + 30, 30):
            now = start + timedelta(minutes=minute)
            first.clock.set(now)
            second.clock.set(now)
            await asyncio.gather(first.tick(), second.tick())
        delivered = [c.post_id for h in (first, second) for c in h.port.cards()]
        assert len(delivered) == len(set(delivered))  # nothing sent twice
        async with first.app.sessions() as session:
            keys = list(await session.scalars(select(Post.key).where(Post.kind == "dm")))
            statuses = set(await session.scalars(select(Post.status)))
        members_with_a_run = {key.split(":")[1] for key in keys}
        assert len(members_with_a_run) == 40  # nothing missed
        assert len(delivered) == len(keys) == 80 and statuses == {"sent"}
        assert first.port.cards() and second.port.cards()  # both did some of the work
    finally:
        await first.close()
        await second.close()


async def test_a_card_can_be_graded_while_the_rest_of_its_drill_is_still_sending(
    harness: Harness,
) -> None:
    # Platform rate limits make a big team's batch take minutes. What has gone out is
    # recorded as it goes, so a member who grades the first card at once is not told
    # there is no such card, and the cards still waiting keep their leases.
    outbox = harness.service.outbox
    outbox.policy = replace(outbox.policy, record_every=timedelta(milliseconds=20), concurrency=1)
    send_now = harness.port.send_dm
    first_sent = asyncio.Event()

    async def slow_after_the_first(**kwargs):
        if first_sent.is_set():
            await asyncio.sleep(0.4)
        sent = await send_now(**kwargs)
        first_sent.set()
        return sent

    harness.port.send_dm = slow_after_the_first
    await harness.command(
        "drillbot subscribe", time="08:30", timezone="UTC", days="daily", quickfire=2, screening=1
    )
    harness.clock.set(utc(2026, 11, 24, 8, 30))
    dispatch = asyncio.create_task(harness.tick())
    await first_sent.wait()
    await asyncio.sleep(0.1)  # a few recording rounds
    first = harness.port.cards()[0]
    await harness.react(harness.port.delivery_of_card(first.post_id).message_ref, Grade.STRONG)
    assert not dispatch.done()
    assert "no card" not in harness.last_text()
    async with transaction(harness.service.sessions) as session:
        graded = await session.scalar(select(GradeRow).where(GradeRow.post_id == first.post_id))
    assert graded is not None and graded.grade == Grade.STRONG.value

    harness.clock.advance(timedelta(seconds=10))  # a third of the 30-second lease
    await asyncio.sleep(0.1)
    async with transaction(harness.service.sessions) as session:
        waiting = (await session.scalars(select(Post).where(Post.status == "pending"))).all()
    assert waiting and all(p.lease_until == utc(2026, 11, 24, 8, 30, 40) for p in waiting)
    await dispatch
    assert len(harness.port.cards()) == 3
    assert [p.status for p in await posts(harness)] == ["sent"] * 3


async def test_a_drills_cards_arrive_in_order_while_members_are_sent_to_side_by_side(
    harness: Harness,
) -> None:
    # A platform answers some sends faster than others; the first card of a drill taking
    # longest must still not let the second one land before it.
    send_now = harness.port.send_dm
    in_flight: set[str] = set()
    most_at_once = 0

    async def slower_for_earlier_cards(*, user_ref: str, message) -> object:
        nonlocal most_at_once
        in_flight.add(user_ref)
        most_at_once = max(most_at_once, len(in_flight))
        position = int(message.heading.split(" ")[2].split("/")[0])
        await asyncio.sleep(0.05 / position)
        in_flight.discard(user_ref)
        return await send_now(user_ref=user_ref, message=message)

    harness.port.send_dm = slower_for_earlier_cards
    for user in ("ana", "ben"):
        await harness.command("drillbot subscribe", user=user, time="08:30", timezone="UTC")
    harness.clock.set(utc(2026, 11, 24, 8, 30))
    await harness.tick()
    for user in ("ana", "ben"):
        headings = [d.message.heading for d in harness.port.of("dm") if d.user_ref == user]
        count = len(headings)
        assert count >= 3
        assert [h.split(" · ")[0] for h in headings] == [
            f"Daily drill {n}/{count}" for n in range(1, count + 1)
        ]
    assert most_at_once == 2  # the two members' drills went out side by side


async def test_a_batchs_grade_hints_are_added_side_by_side_not_one_card_at_a_time(
    harness: Harness,
) -> None:
    # Each card's hints are platform calls; one after another, a big batch's hints would
    # take longer than sending its cards did.
    add_hints = harness.port.add_reactions
    in_flight = 0
    most_at_once = 0

    async def slow_hints(**kwargs) -> None:
        nonlocal in_flight, most_at_once
        in_flight += 1
        most_at_once = max(most_at_once, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        await add_hints(**kwargs)

    harness.port.add_reactions = slow_hints
    for user in ("ana", "ben", "cy"):
        await harness.command("drillbot subscribe", user=user, time="08:30", timezone="UTC")
    harness.clock.set(utc(2026, 11, 24, 8, 30))
    await harness.tick()
    hinted = {d.message_ref for d in harness.port.of("react")}
    assert hinted == {d.message_ref for d in harness.port.of("dm")} and len(hinted) >= 9
    assert most_at_once == harness.service.outbox.policy.concurrency


async def test_grade_hints_appear_only_on_cards_a_reaction_can_find(harness: Harness) -> None:
    # A member may react the moment the bot's hint reactions appear: by then the card's
    # message must be on record, or the reaction would be answered with "no such card".
    found_when_hinted: list[bool] = []
    add_hints = harness.port.add_reactions

    async def checking(*, channel_ref: str, message_ref: str, grades) -> None:
        async with transaction(harness.service.sessions) as session:
            posts = await find_posts_by_message(
                session, platform="fake", message_ref=message_ref, channel_ref=channel_ref, limit=1
            )
        found_when_hinted.append(bool(posts) and posts[0].status == "sent")
        await add_hints(channel_ref=channel_ref, message_ref=message_ref, grades=grades)

    harness.port.add_reactions = checking
    await harness.command(
        "drillbot subscribe", time="08:30", timezone="UTC", days="daily", quickfire=2, screening=1
    )
    harness.clock.set(utc(2026, 11, 23, 8, 30))
    await harness.tick()
    assert len(harness.port.cards()) == 3
    assert found_when_hinted == [True, True, True]
