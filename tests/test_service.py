"""The core through its one entry point, on SQLite and PostgreSQL, with the recording port."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.grades import Grade
from bot.messages import AnswerReveal, QuestionCard
from bot.storage.models import Grade as GradeRow
from bot.storage.models import GradeEvent, Member, Post, ReviewLog, SrsCard
from tests.harness import Harness


async def drill(harness: Harness, count: int = 3, **args) -> list[QuestionCard]:
    before = len(harness.port.cards())
    await harness.command("drill", count=count, **args)
    return harness.port.cards()[before:]


async def test_drill_sends_cards_by_dm_with_grade_hints(harness: Harness) -> None:
    cards = await drill(harness, 3)

    assert len(cards) == 3
    assert len({card.question_id for card in cards}) == 3
    for card in cards:
        delivery = harness.port.delivery_of_card(card.post_id)
        assert delivery.channel_ref == "D-ana"
        assert card.prompt and card.track and card.level and card.time_limit_s > 0
    reactions = harness.port.of("react")
    assert len(reactions) == 3
    assert all(r.grades == (Grade.STRONG, Grade.LEAN, Grade.NO) for r in reactions)
    posts = await harness.rows(Post)
    assert {p.status for p in posts} == {"sent"}
    assert all(p.message_ref for p in posts)
    (member,) = await harness.rows(Member)
    assert member.dm_channel_ref == "D-ana"  # cached: later DMs cost one call
    await drill(harness, 1)
    assert harness.port.deliveries[-2].action == "post"
    summary = harness.port.texts()[0]
    assert "3 questions" in summary


async def test_drill_filters_by_track_and_level(harness: Harness) -> None:
    cards = await drill(harness, 5, track="llm")
    assert cards and {card.track for card in cards} == {"llm"}
    cards = await drill(harness, 5, level="scenario")
    assert [card.question_id for card in cards] == ["t-reservoir"]


async def test_drill_in_a_channel_answers_there_and_sends_cards_by_dm(harness: Harness) -> None:
    await harness.command("drill", count=2, channel="C-study")
    assert len(harness.port.cards()) == 2
    reply = harness.port.of("reply")[-1]
    assert reply.channel_ref == "C-study" and reply.ephemeral
    assert "DM" in reply.message.text


async def test_reaction_records_grade_and_schedules_fsrs_card(harness: Harness) -> None:
    (card,) = await drill(harness, 1)
    ref = harness.port.delivery_of_card(card.post_id).message_ref

    await harness.react(ref, Grade.STRONG)

    (grade,) = await harness.rows(GradeRow)
    assert grade.grade == "strong" and grade.question_id == card.question_id
    (srs,) = await harness.rows(SrsCard)
    assert srs.reviews == 1 and srs.due > harness.clock.now() + timedelta(days=1)
    (log,) = await harness.rows(ReviewLog)
    assert log.rating == 3 and not log.superseded
    assert "Strong Hire recorded" in harness.port.texts()[-1]


async def test_changing_a_grade_replaces_the_review_instead_of_adding_one(harness: Harness) -> None:
    (card,) = await drill(harness, 1)
    ref = harness.port.delivery_of_card(card.post_id).message_ref
    await harness.react(ref, Grade.STRONG)
    (strong_card,) = await harness.rows(SrsCard)
    strong_due = strong_card.due

    harness.clock.advance(timedelta(minutes=5))
    await harness.react(ref, Grade.NO)

    (grade,) = await harness.rows(GradeRow)
    assert grade.grade == "no"
    (srs,) = await harness.rows(SrsCard)
    assert srs.reviews == 1
    assert srs.due < strong_due
    assert srs.due <= harness.clock.now() + timedelta(days=1, minutes=1)
    logs = await harness.rows(ReviewLog)
    assert [(log.rating, log.superseded) for log in sorted(logs, key=lambda x: x.id)] == [
        (3, True),
        (1, False),
    ]
    events = await harness.rows(GradeEvent)
    assert [e.action for e in sorted(events, key=lambda x: x.id)] == ["add", "change"]
    changed = harness.port.texts()[-1]
    assert changed.startswith(f"Card #{card.post_id} changed to 🔴 No Hire.")
    assert "Study next" in changed


async def test_same_reaction_twice_changes_nothing(harness: Harness) -> None:
    (card,) = await drill(harness, 1)
    ref = harness.port.delivery_of_card(card.post_id).message_ref
    await harness.react(ref, Grade.LEAN)
    await harness.react(ref, Grade.LEAN)
    assert len(await harness.rows(ReviewLog)) == 1
    assert len(await harness.rows(GradeEvent)) == 1
    assert "already graded" in harness.port.texts()[-1]


async def test_removing_the_reaction_undoes_the_review(harness: Harness) -> None:
    (card,) = await drill(harness, 1)
    ref = harness.port.delivery_of_card(card.post_id).message_ref
    await harness.react(ref, Grade.STRONG)

    await harness.unreact(ref, Grade.STRONG)

    assert await harness.rows(GradeRow) == []
    (srs,) = await harness.rows(SrsCard)
    assert srs.reviews == 0 and srs.last_review is None
    (log,) = await harness.rows(ReviewLog)
    assert log.superseded
    events = await harness.rows(GradeEvent)
    assert sorted(e.action for e in events) == ["add", "remove"]


async def test_removing_a_reaction_that_is_not_the_current_grade_keeps_the_grade(
    harness: Harness,
) -> None:
    (card,) = await drill(harness, 1)
    ref = harness.port.delivery_of_card(card.post_id).message_ref
    await harness.react(ref, Grade.STRONG)
    await harness.react(ref, Grade.NO)
    await harness.unreact(ref, Grade.STRONG)
    (grade,) = await harness.rows(GradeRow)
    assert grade.grade == "no"


async def test_a_retried_event_is_handled_once(harness: Harness) -> None:
    (card,) = await drill(harness, 1)
    ref = harness.port.delivery_of_card(card.post_id).message_ref
    await harness.react(ref, Grade.STRONG, event_id="Ev-retry")
    await harness.unreact(ref, Grade.STRONG)
    await harness.react(ref, Grade.STRONG, event_id="Ev-retry")  # the platform retries
    assert await harness.rows(GradeRow) == []

    await harness.command("drill", count=2, event_id="Ev-cmd")
    await harness.command("drill", count=2, event_id="Ev-cmd")
    assert len(harness.port.cards()) == 3


async def test_nobody_grades_someone_elses_dm_card(harness: Harness) -> None:
    (card,) = await drill(harness, 1)
    ref = harness.port.delivery_of_card(card.post_id).message_ref
    await harness.react(ref, Grade.STRONG, user="ben")
    assert await harness.rows(GradeRow) == []
    assert "no card" in harness.port.texts()[-1]
    await harness.command("reveal", user="ben", card=card.post_id)
    assert not any(isinstance(d.message, AnswerReveal) for d in harness.port.deliveries)


async def test_reveal_shows_answer_rubric_and_study_pointer(harness: Harness) -> None:
    (card,) = await drill(harness, 1, level="scenario")
    await harness.command("reveal", card=card.post_id)
    reveal = harness.port.deliveries[-1].message
    assert isinstance(reveal, AnswerReveal)
    assert "k/i" in reveal.answer
    assert set(reveal.rubric) == set(Grade)
    assert reveal.study == "Reservoir sampling"


async def test_reveal_button_in_dm_updates_the_card(harness: Harness) -> None:
    (card,) = await drill(harness, 1)
    await harness.press(card.post_id, "reveal")
    update = harness.port.of("update")[-1]
    assert isinstance(update.message, AnswerReveal)
    assert update.message_ref == harness.port.delivery_of_card(card.post_id).message_ref


async def test_grade_buttons_and_grade_command_record_like_reactions(harness: Harness) -> None:
    first, second = await drill(harness, 2)
    await harness.press(first.post_id, "grade", grade=Grade.LEAN)
    await harness.command("grade", card=second.post_id, grade="no")
    grades = {g.post_id: g.grade for g in await harness.rows(GradeRow)}
    assert grades == {first.post_id: "lean", second.post_id: "no"}
    sources = {e.source for e in await harness.rows(GradeEvent)}
    assert sources == {"button", "command"}


async def test_no_hire_brings_the_question_back_the_next_day(harness: Harness) -> None:
    (card,) = await drill(harness, 1)
    ref = harness.port.delivery_of_card(card.post_id).message_ref
    await harness.react(ref, Grade.NO)

    harness.clock.advance(timedelta(hours=13))  # 21:00 the same day: not due yet
    later = await drill(harness, 3)
    assert card.question_id not in {c.question_id for c in later}

    harness.clock.advance(timedelta(hours=4))  # 01:00 the next day: due today
    again = await drill(harness, 1)
    assert again[0].question_id == card.question_id
    assert "review" in again[0].heading


async def test_questions_are_not_repeated_within_the_gap(harness: Harness) -> None:
    seen: list[str] = []
    for _ in range(4):
        seen.extend(c.question_id for c in await drill(harness, 2))
        harness.clock.advance(timedelta(days=1))
    assert len(seen) == len(set(seen)) == 8  # the small bank has 8 questions
    assert await drill(harness, 2) == []
    assert "Nothing fits" in harness.port.texts()[-1]


async def test_daily_review_cap_limits_due_cards(database_url: str, start_time) -> None:
    harness = await Harness.start(
        database_url=database_url, now=start_time, config={"srs": {"max_reviews_per_day": 2}}
    )
    try:
        cards = await drill(harness, 5)
        for card in cards:
            ref = harness.port.delivery_of_card(card.post_id).message_ref
            await harness.react(ref, Grade.NO)
        harness.clock.advance(timedelta(days=2))
        later = await drill(harness, 5)
        reasons = [c.heading.split("· ")[-1] for c in later]
        assert reasons.count("review") == 2
    finally:
        await harness.close()


async def test_a_crash_between_insert_and_send_resends_exactly_once(harness: Harness) -> None:
    from bot.ports import PlatformError

    harness.port.fail_with = lambda action, target: (
        PlatformError("connection reset") if action == "dm" else None
    )
    await harness.command("drill", count=2)
    posts = await harness.rows(Post)
    assert [p.status for p in posts] == ["pending", "pending"]
    assert all(p.attempts == 1 and "connection reset" in p.last_error for p in posts)

    harness.port.fail_with = None
    assert await harness.service.outbox.resume_pending() == 0  # backoff not over yet
    harness.clock.advance(timedelta(minutes=1))
    assert await harness.service.outbox.resume_pending() == 2
    assert await harness.service.outbox.resume_pending() == 0
    assert len(harness.port.cards()) == 2
    assert {p.status for p in await harness.rows(Post)} == {"sent"}


async def test_permanent_platform_errors_fail_the_post_without_retrying(harness: Harness) -> None:
    from bot.ports import PlatformError

    harness.port.fail_with = lambda action, target: (
        PlatformError("cannot DM this user", permanent=True) if action == "dm" else None
    )
    await harness.command("drill", count=1)
    (post,) = await harness.rows(Post)
    assert post.status == "failed" and post.attempts == 1


async def test_members_are_created_once_and_keep_their_names(harness: Harness) -> None:
    await harness.command("help")
    await harness.command("help")
    await harness.command("help", user="ben")
    members = await harness.rows(Member)
    assert sorted(m.display_name for m in members) == ["Ana", "Ben"]
    assert "/drill" in harness.port.texts()[-1]


async def test_reaction_hints_can_be_kept_to_channel_posts(database_url: str) -> None:
    """A large workspace saves three platform calls a DM card: buttons grade there."""
    harness = await Harness.start(
        database_url=database_url,
        now=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
        config={"grades": {"reaction_hints": "channels"}},
    )
    try:
        await drill(harness, 2)
        assert len(harness.port.cards()) == 2
        assert harness.port.of("react") == []  # DM cards: no hints

        await harness.command(
            "drillbot channel daily", channel="C-study", admin=True, time="09:00", days="daily"
        )
        await harness.run_until(datetime(2026, 11, 24, 9, 5, tzinfo=UTC), step=timedelta(hours=1))
        channel_cards = [
            d
            for d in harness.port.deliveries
            if isinstance(d.message, QuestionCard) and d.channel_ref == "C-study"
        ]
        hints = harness.port.of("react")
        assert channel_cards  # a question each day at 09:00
        assert [h.message_ref for h in hints] == [c.message_ref for c in channel_cards]
        assert all(h.grades == (Grade.STRONG, Grade.LEAN, Grade.NO) for h in hints)
    finally:
        await harness.close()


async def test_a_drill_picks_from_the_bank_the_database_holds_now(database_url: str) -> None:
    from bank.loader import Bank, load_files
    from bot.storage.database import transaction
    from bot.storage.repository import sync_questions
    from tests.harness import SMALL_BANK

    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    harness = await Harness.start(database_url=database_url, now=start)
    try:
        await harness.command("drill", count=1)  # the candidates are read, and kept
        full = load_files([SMALL_BANK])
        kept = dict(list(full.questions.items())[:3])
        # Another replica starts with a smaller bank: the rest are retired.
        async with transaction(harness.app.sessions) as session:
            await sync_questions(session, bank=Bank(questions=kept), now=start)
        harness.clock.set(start + timedelta(days=10))
        before = len(harness.port.cards())
        await harness.command("drill", count=8)
        drawn = {card.question_id for card in harness.port.cards()[before:]}
        assert drawn and drawn <= set(kept)
    finally:
        await harness.close()
