"""The weekly leaderboard, its Monday post, personal stats and data ownership."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.grades import Grade
from bot.domain.leaderboard import rank
from bot.domain.weeks import resolve_week, week_bounds, week_label
from bot.messages import Image, LeaderboardView
from bot.progress import leaderboard
from bot.storage.database import transaction
from bot.storage.models import Grade as GradeRow
from bot.storage.models import Member, Post, Round
from tests.harness import Harness


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def complete_mock(harness: Harness, user: str) -> None:
    before = len(harness.port.cards())
    await harness.command("mock", user=user)
    for card in harness.port.cards()[before:]:
        ref = harness.port.delivery_of_card(card.post_id).message_ref
        await harness.react(ref, Grade.STRONG, user=user)


def test_ties_share_a_rank_and_order_by_name() -> None:
    standings = rank(
        completed={1: 3, 2: 5, 3: 3, 4: 1, 5: 0},
        names={1: "Cy", 2: "Ana", 3: "Bo", 4: "Di", 5: "Ed"},
        streaks={},
        means={},
        hidden={},
    )
    assert [(s.rank, s.display_name) for s in standings] == [
        (1, "Ana"),
        (2, "Bo"),
        (2, "Cy"),
        (4, "Di"),
    ]


def test_weeks_are_local_to_the_team() -> None:
    sunday_night_utc = utc(2026, 11, 29, 10, 30)  # Sun 23:30 in UTC-11, Mon 00:30 in UTC+14
    assert week_label(sunday_night_utc, "Pacific/Pago_Pago") == "2026-W48"
    assert week_label(sunday_night_utc, "Pacific/Kiritimati") == "2026-W49"
    start, end = week_bounds("2026-W48", "Pacific/Kiritimati")
    assert (start, end) == (utc(2026, 11, 22, 10, 0), utc(2026, 11, 29, 10, 0))
    assert resolve_week("last", now=sunday_night_utc, timezone="UTC") == "2026-W47"


async def test_rounds_near_sunday_midnight_count_in_the_teams_week(database_url, bundled_bank):
    for zone, expected in (("Pacific/Kiritimati", "2026-W49"), ("Pacific/Pago_Pago", "2026-W48")):
        harness = await Harness.start(
            database_url=database_url,
            now=utc(2026, 11, 29, 10, 0),
            bank=bundled_bank,
            config={"team": {"timezone": zone}},
        )
        try:
            harness.clock.set(utc(2026, 11, 29, 10, 20))
            await complete_mock(harness, "ana")
            async with transaction(harness.app.sessions) as session:
                board = await leaderboard(session, team_id=1, week=expected, timezone=zone)
            assert [(s.display_name, s.completed) for s in board.standings] == [("Ana", 1)]
        finally:
            await harness.close()
        database_url = database_url  # the same database is reused: clear it for the next zone
        if database_url.startswith("sqlite"):
            import os

            os.remove(database_url.split("///", 1)[1])
        else:
            return  # one zone is enough on PostgreSQL (the fixture database is per test)


async def test_leaderboard_ranks_hides_opt_outs_and_shows_streaks(database_url, bundled_bank):
    harness = await Harness.start(
        database_url=database_url, now=utc(2026, 11, 17, 12, 0), bank=bundled_bank
    )
    try:
        await complete_mock(harness, "ana")  # week 47
        harness.clock.set(utc(2026, 11, 24, 12, 0))  # week 48
        for user, rounds in (("ana", 2), ("ben", 2), ("cy", 1), ("dee", 3)):
            for _ in range(rounds):
                await complete_mock(harness, user)
                harness.clock.advance(timedelta(hours=1))
        await harness.command("drillbot leaderboard", user="dee", visible="off")
        await harness.command("leaderboard", user="ana")
        view = harness.port.deliveries[-2].message
        assert isinstance(view, LeaderboardView)
        rows = [(r.rank, r.display_name, r.completed, r.streak_weeks) for r in view.rows]
        assert rows == [(1, "Ana", 2, 2), (1, "Ben", 2, 1), (3, "Cy", 1, 1)]
        assert view.rows[0].mean_grade == 1.0
        image = harness.port.deliveries[-1].message
        assert isinstance(image, Image) and image.png.startswith(b"\x89PNG")
        await harness.command("leaderboard", user="ana", week="last")
        view = harness.port.deliveries[-2].message
        assert [(r.display_name, r.completed) for r in view.rows] == [("Ana", 1)]
        await harness.command("leaderboard", user="ana", week="2026-W40")
        assert harness.port.deliveries[-1].message.rows == ()
    finally:
        await harness.close()


async def test_the_monday_board_is_posted_once_per_channel_across_restarts(
    database_url, bundled_bank
):
    harness = await Harness.start(
        database_url=database_url,
        now=utc(2026, 11, 26, 12, 0),
        bank=bundled_bank,
        config={"team": {"timezone": "Europe/Berlin"}},
    )
    await harness.command("drillbot channel daily", channel="C-one", admin=True, time="10:00")
    await harness.command("drillbot channel daily", channel="C-two", admin=True, time="10:00")
    await complete_mock(harness, "ana")
    harness.clock.set(utc(2026, 11, 30, 7, 59))  # Monday 08:59 in Berlin
    await harness.tick()
    assert not any(isinstance(d.message, LeaderboardView) for d in harness.port.deliveries)
    harness.clock.set(utc(2026, 11, 30, 8, 0))
    await harness.tick()
    await harness.tick()
    boards = [d for d in harness.port.deliveries if isinstance(d.message, LeaderboardView)]
    assert sorted(d.channel_ref for d in boards) == ["C-one", "C-two"]
    assert "week 2026-W48" in boards[0].message.title
    assert [r.display_name for r in boards[0].message.rows] == ["Ana"]
    charts = [d for d in harness.port.of("image")]
    assert len(charts) == 2
    await harness.close()

    again = await Harness.start(
        database_url=database_url, now=utc(2026, 11, 30, 8, 5), bank=bundled_bank
    )
    try:
        await again.tick()
        assert not any(isinstance(d.message, LeaderboardView) for d in again.port.deliveries)
        posts = await again.rows(Post, Post.kind == "board")
        assert sorted(p.key for p in posts) == ["board:1:2026-W48:1", "board:1:2026-W48:2"]
    finally:
        await again.close()


async def test_stats_show_streak_due_reviews_weak_topics_and_a_chart(database_url, bundled_bank):
    harness = await Harness.start(
        database_url=database_url, now=utc(2026, 11, 23, 9, 0), bank=bundled_bank
    )
    try:
        for day, grade in enumerate((Grade.NO, Grade.LEAN, Grade.STRONG)):
            harness.clock.set(utc(2026, 11, 23 + day, 9, 0))
            before = len(harness.port.cards())
            await harness.command("drill", count=2)
            for card in harness.port.cards()[before:]:
                ref = harness.port.delivery_of_card(card.post_id).message_ref
                await harness.react(ref, grade)
        await harness.command("stats")
        text = harness.port.deliveries[-2].message.text
        assert "Daily streak: 3 days" in text
        distinct = len({c.question_id for c in harness.port.cards()})
        assert f"Questions seen: {distinct}" in text
        assert "Reviews due today: " in text and "Mean recall probability (FSRS): " in text
        assert "*Weakest topics*" in text and "study " in text
        chart = harness.port.deliveries[-1].message
        assert isinstance(chart, Image) and chart.png.startswith(b"\x89PNG")

        await harness.command("stats", channel="C-study")
        assert harness.port.deliveries[-1].message.text == "Your stats are in your DM."
    finally:
        await harness.close()


async def test_forget_me_asks_first_then_deletes_everything(harness: Harness) -> None:
    await harness.command("drill", count=2)
    card = harness.port.cards()[0]
    await harness.react(harness.port.delivery_of_card(card.post_id).message_ref, Grade.LEAN)
    await harness.command("drillbot forget-me")
    assert "run /drillbot forget-me confirm" in harness.last_text()
    assert len(await harness.rows(GradeRow)) == 1
    await harness.command("drillbot forget-me", confirm="confirm")
    assert "everything drillbot knew about you is deleted" in harness.last_text()
    assert await harness.rows(GradeRow) == []
    assert await harness.rows(Post) == []
    assert await harness.rows(Round) == []
    assert [m.external_id for m in await harness.rows(Member)] == []


async def test_leaderboard_setting_without_an_argument_shows_it_and_how_to_change_it(
    harness,
) -> None:
    await harness.command("drillbot leaderboard")
    assert harness.last_text() == (
        "You are on the weekly leaderboard. Hide yourself: /drillbot leaderboard off"
    )
    await harness.command("drillbot leaderboard", visible="off")
    await harness.command("drillbot leaderboard")
    assert harness.last_text().startswith("You are hidden from the weekly leaderboard.")
    await harness.command("leaderboard")  # the board itself says so too
    assert harness.last_text().startswith("You are hidden from the weekly leaderboard.")
    assert "/drillbot leaderboard <on|off>" not in harness.last_text()
    usage = harness.service.catalog.get("drillbot leaderboard").usage()
    assert usage == "/drillbot leaderboard [on|off]"
