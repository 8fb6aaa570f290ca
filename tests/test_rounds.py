"""Mock interviews and quick-fire rounds, as a member lives them."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.grades import Grade
from bot.messages import QuestionCard
from bot.storage.models import Grade as GradeRow
from bot.storage.models import Round, RoundWeek, SrsCard
from tests.harness import Harness

START = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # a Tuesday evening


@pytest.fixture
async def team(database_url: str, bundled_bank) -> AsyncIterator[Harness]:
    harness = await Harness.start(database_url=database_url, now=START, bank=bundled_bank)
    try:
        yield harness
    finally:
        await harness.close()


def new_cards(harness: Harness, since: int) -> list[QuestionCard]:
    return harness.port.cards()[since:]


async def grade_all(
    harness: Harness, cards: list[QuestionCard], grade: Grade = Grade.STRONG, user: str = "ana"
) -> None:
    for card in cards:
        ref = harness.port.delivery_of_card(card.post_id).message_ref
        await harness.react(ref, grade, user=user)


async def test_a_mock_round_is_five_mixed_questions_with_a_45_minute_window(team: Harness) -> None:
    await team.command("mock")
    cards = team.port.cards()
    assert Counter(card.level for card in cards)["screening"] == 2
    assert Counter(card.level for card in cards)["deep-dive"] == 2
    assert sum(card.level in ("staff", "system-design", "scenario") for card in cards) == 1
    assert [card.heading.split(" · ")[0] for card in cards] == [f"Mock {n}/5" for n in range(1, 6)]
    assert all(card.heading.endswith(("min", " s")) for card in cards)
    intro = next(t for t in team.port.texts() if t.startswith("*Mock interview"))
    assert "5 questions, 45 minutes" in intro and "until 18:45 UTC" in intro
    (round_,) = await team.rows(Round)
    assert round_.status == "active" and round_.deadline == START + timedelta(minutes=45)


async def test_one_active_round_at_a_time(team: Harness) -> None:
    await team.command("mock")
    await team.command("mock")
    assert "already have a mock round running (45 min left)" in team.last_text()
    await team.command("quickfire")
    assert "already have a mock round running" in team.last_text()
    assert len(await team.rows(Round)) == 1


async def test_grading_every_card_in_time_completes_the_round(team: Harness) -> None:
    await team.command("mock", track="llm")
    cards = team.port.cards()
    assert {card.track for card in cards} == {"llm"}
    team.clock.advance(timedelta(minutes=20))
    await grade_all(team, cards[:4], Grade.STRONG)
    await team.react(team.port.delivery_of_card(cards[4].post_id).message_ref, Grade.NO)
    (round_,) = await team.rows(Round)
    assert round_.status == "completed" and round_.finished_at == START + timedelta(minutes=20)
    summary = team.port.texts()[-1]
    assert summary.startswith("*Mock round complete*: 5/5 graded in 20 min of 45 min.")
    assert "🟢 4 · 🟡 0 · 🔴 1" in summary and "Study next:" in summary
    (week,) = await team.rows(RoundWeek)
    assert (week.week, week.completed) == ("2026-W48", 1)


async def test_a_round_completed_exactly_at_the_deadline_counts(team: Harness) -> None:
    await team.command("mock")
    cards = team.port.cards()
    await grade_all(team, cards[:4])
    team.clock.advance(timedelta(minutes=45))
    await grade_all(team, cards[4:])
    (round_,) = await team.rows(Round)
    assert round_.status == "completed"


async def test_late_grades_feed_fsrs_but_the_round_expires(team: Harness) -> None:
    await team.command("mock")
    cards = team.port.cards()
    await grade_all(team, cards[:3])
    team.clock.advance(timedelta(minutes=30))
    await team.tick()
    assert "15 min left in your mock round: 2 questions still ungraded" in team.port.texts()[-1]
    team.clock.advance(timedelta(minutes=5))
    await team.tick()  # the reminder is sent once
    assert sum("left in your mock round" in t for t in team.port.texts()) == 1
    team.clock.advance(timedelta(minutes=11))
    await team.tick()
    (round_,) = await team.rows(Round)
    assert round_.status == "expired"
    assert "*Mock round over: time is up*: 3/5 graded" in team.port.texts()[-1]
    await grade_all(team, cards[3:])
    assert len(await team.rows(GradeRow)) == 5
    assert len([c for c in await team.rows(SrsCard) if c.reviews]) == 5
    assert await team.rows(RoundWeek) == []
    (round_,) = await team.rows(Round)
    assert round_.status == "expired"


async def test_abandon_and_status(team: Harness) -> None:
    await team.command("mock status")
    assert "No round running" in team.last_text()
    await team.command("mock")
    await grade_all(team, team.port.cards()[:2])
    team.clock.advance(timedelta(minutes=10))
    await team.command("mock status")
    assert team.last_text() == "Mock round: 2/5 graded, 35 min left."
    await team.command("mock abandon")
    assert "abandoned" in team.last_text()
    (round_,) = await team.rows(Round)
    assert round_.status == "abandoned"
    await team.command("mock")
    assert len(await team.rows(Round)) == 2


async def test_mock_rounds_lean_on_weak_topics(team: Harness) -> None:
    await team.command("drill", count=10, level="deep-dive")
    drilled = team.port.cards()
    weak = drilled[0]
    await team.react(team.port.delivery_of_card(weak.post_id).message_ref, Grade.NO)
    for card in drilled[1:]:
        await team.react(team.port.delivery_of_card(card.post_id).message_ref, Grade.STRONG)
    weak_tags = set(team.service.bank.get(weak.question_id).tags)
    before = len(team.port.cards())
    await team.command("mock")
    mock = [c for c in new_cards(team, before) if c.level == "deep-dive"]
    tags = [set(team.service.bank.get(c.question_id).tags) for c in mock]
    assert all(t & weak_tags for t in tags)


async def test_quickfire_moves_to_the_next_card_on_each_grade(team: Harness) -> None:
    await team.command("quickfire", n=3)
    assert len(team.port.cards()) == 1
    intro = next(t for t in team.port.texts() if "Quick-fire" in t)
    assert "3 questions, 30 s a card, 1 min 30 s in all" in intro  # one rule everywhere
    assert team.port.cards()[-1].heading == "Quick-fire 1/3 · 30 s"
    assert "30 s each" in team.service.catalog.get("quickfire").help
    for expected in (2, 3):
        card = team.port.cards()[-1]
        team.clock.advance(timedelta(seconds=10))
        await team.react(team.port.delivery_of_card(card.post_id).message_ref, Grade.LEAN)
        assert len(team.port.cards()) == expected
        assert team.port.cards()[-1].heading.startswith(f"Quick-fire {expected}/3")
    last = team.port.cards()[-1]
    await team.react(team.port.delivery_of_card(last.post_id).message_ref, Grade.STRONG)
    summary = team.port.texts()[-1]
    assert summary.startswith("*Quick-fire round complete*: 3/3 graded in 20 s of 1 min 30 s.")
    assert "🟢 1 · 🟡 2 · 🔴 0" in summary
    assert {c.level for c in team.port.cards()} == {"quickfire"}
    assert await team.rows(RoundWeek) == []  # quick-fire rounds are not mock rounds


async def test_a_quickfire_round_warns_a_minute_before_its_end(team: Harness) -> None:
    await team.command("quickfire", n=4)  # 2 minutes
    team.clock.advance(timedelta(seconds=30))
    await team.tick()
    assert not any(t.startswith("⏰") for t in team.port.texts())
    team.clock.advance(timedelta(seconds=40))  # 50 s left
    await team.tick()
    warnings = [t for t in team.port.texts() if t.startswith("⏰")]
    assert warnings == ["⏰ 50 s left in your quick-fire round: 4 questions still ungraded."]
    team.clock.advance(timedelta(seconds=20))
    await team.tick()
    assert len([t for t in team.port.texts() if t.startswith("⏰")]) == 1  # once


async def test_mock_for_a_company_prefers_its_questions(team: Harness) -> None:
    await team.command("mock", company="deepmind")
    cards = team.port.cards()
    tagged = sum(1 for card in cards if "deepmind" in card.companies)
    assert tagged > 0
    intro = next(t for t in team.port.texts() if "Mock interview" in t)
    assert intro.startswith(f"{tagged} of the {len(cards)} questions are tagged with deepmind.")


async def test_a_mock_for_a_company_with_no_questions_says_so(team: Harness) -> None:
    await team.command("mock", company="nosuchco")
    intro = next(t for t in team.port.texts() if "Mock interview" in t)
    assert intro.startswith("No questions are tagged with nosuchco, so this round is drawn")
