"""The learning plan: new questions and reviews are two budgets, an interview date paces
the new ones, and the fixed plan comes back on days 3, 7, 14 and 21."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.grades import Grade
from bot.domain.learning_plan import drill_days, earliest_goal, pace, split_new
from bot.domain.selection import (
    Candidate,
    CandidatePool,
    DrillBudget,
    Filters,
    SelectionRules,
    plan_daily_drill,
)
from bot.forecast import Forecast, forecast
from bot.messages import QuestionCard
from bot.srs import Srs
from bot.storage.models import SrsCard, Subscription
from tests.harness import Harness

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
END_OF_DAY = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
LEVELS = ("quickfire", "screening", "deep-dive", "scenario")
BANK = CandidatePool(
    Candidate(f"q{i:02d}", "llm" if i % 2 else "deep-learning", LEVELS[i % 4]) for i in range(40)
)
ALL = BANK.eligible(Filters())[0]
DEFAULT_BUDGET = DrillBudget(new=(("quickfire", 3), ("screening", 1)), reviews=10)


def drill(*, due_at=None, last_shown=None, budget=DEFAULT_BUDGET, tracks=(), seed="s"):
    return plan_daily_drill(
        pool=BANK,
        tracks=tracks,
        companies=(),
        due_at=due_at or {},
        last_shown=last_shown or {},
        now=NOW,
        due_by=END_OF_DAY,
        budget=budget,
        rules=SelectionRules(max_reviews=10),
        seed=seed,
    )


def fresh_forecast(plan, *, today: date, goal: date, available: int, days) -> Forecast:
    """The plan of a member who has seen nothing yet."""
    return forecast(
        srs=Srs(),
        cards=[],
        seen=0,
        available=available,
        pace=plan,
        today=today,
        days=days,
        review_only=(),
        goal=goal,
        review_cap=10,
    )


def reasons(picked) -> list[str]:
    return [p.reason for p, _ in picked]


def test_due_reviews_come_besides_the_new_questions_not_instead() -> None:
    due = {f"q{i:02d}": NOW - timedelta(days=i + 1) for i in range(12)}
    picked = drill(due_at=due)
    assert reasons(picked) == ["new"] * 4 + ["due"] * 10  # four new, and the cap of reviews
    reviews = [p.question_id for p, _ in picked if p.reason == "due"]
    assert reviews == [f"q{i:02d}" for i in range(11, 1, -1)]  # most overdue first
    assert not {p.question_id for p, _ in picked if p.reason == "new"} & set(due)


@settings(max_examples=60, deadline=None)
@given(
    due_count=st.integers(0, 40),
    quickfire=st.integers(0, 5),
    screening=st.integers(0, 3),
    cap=st.integers(0, 30),
    seed=st.text(max_size=5),
)
def test_reviews_never_push_out_new_questions(due_count, quickfire, screening, cap, seed) -> None:
    due = {f"q{i:02d}": NOW - timedelta(days=1) for i in range(due_count)}
    budget = DrillBudget(new=(("quickfire", quickfire), ("screening", screening)), reviews=cap)
    picked = drill(due_at=due, budget=budget, seed=seed)
    new = [p for p, _ in picked if p.reason == "new"]
    unseen = len(BANK) - due_count
    assert len(new) == min(quickfire + screening, unseen)
    assert reasons(picked).count("due") == min(cap, due_count)
    assert len({p.question_id for p, _ in picked}) == len(picked)  # nothing twice


def test_a_level_with_nothing_new_lends_its_slots_to_the_next_level() -> None:
    quickfire = [c.question_id for c in ALL if c.level == "quickfire"]
    shown = {qid: NOW - timedelta(days=1) for qid in quickfire}
    picked = drill(last_shown=shown)
    assert reasons(picked) == ["new"] * 4
    level_of = {c.question_id: c.level for c in ALL}
    assert [level_of[p.question_id] for p, _ in picked].count("screening") >= 1
    assert all(level_of[p.question_id] != "quickfire" for p, _ in picked)


def test_once_everything_is_seen_the_new_slots_take_the_reviews_due_soonest() -> None:
    due = {c.question_id: NOW + timedelta(days=30 + i) for i, c in enumerate(ALL)}
    picked = drill(due_at=due)
    assert reasons(picked) == ["ahead"] * 4
    assert [p.question_id for p, _ in picked] == ["q00", "q01", "q02", "q03"]


def test_drill_days_counts_the_days_that_bring_new_questions() -> None:
    monday = date(2026, 11, 23)
    assert drill_days(start=monday, end=monday + timedelta(days=13), days=range(7)) == 14
    assert drill_days(start=monday, end=monday + timedelta(days=13), days=range(5)) == 10
    weekdays_new_only = drill_days(
        start=monday, end=monday + timedelta(days=13), days=range(7), review_only=(5, 6)
    )
    assert weekdays_new_only == 10
    assert drill_days(start=monday, end=monday - timedelta(days=1), days=range(7)) == 0


def test_a_goal_spreads_the_unseen_questions_over_the_days_before_its_cut_off() -> None:
    today = date(2026, 12, 7)
    goal = today + timedelta(days=57)  # cut-off a week before: 51 drill days left
    plan = pace(today=today, budget=4, unseen=100, days=range(7), goal=goal)
    assert (plan.days_left, plan.needed, plan.new_today, plan.fits) == (51, 2, 2, True)
    assert plan.needed * plan.days_left >= 100


def test_a_goal_the_budget_cannot_reach_is_reported_with_the_budget_it_needs() -> None:
    today = date(2026, 12, 7)
    plan = pace(today=today, budget=4, unseen=276, days=range(5), goal=today + timedelta(days=37))
    assert not plan.fits
    assert plan.needed == 12 and plan.new_today == 4  # never more than the member's budget
    result = fresh_forecast(
        plan, today=today, goal=today + timedelta(days=37), available=276, days=range(5)
    )
    text = "\n".join(result.describe(goal=today + timedelta(days=37)))
    assert "needs 12 a day, more than your 4" in text
    assert "adding up to 12" in text


def test_review_only_days_bring_no_new_questions() -> None:
    saturday = date(2026, 12, 12)
    plan = pace(today=saturday, budget=4, unseen=50, days=range(7), review_only=(5, 6))
    assert plan.new_today == 0
    assert pace(today=saturday - timedelta(days=1), budget=4, unseen=50, days=range(7)).new_today


def test_a_smaller_day_keeps_the_screening_question() -> None:
    slots = (("quickfire", 3), ("screening", 1))
    assert split_new(2, slots) == (("quickfire", 1), ("screening", 1))
    assert split_new(4, slots) == slots
    assert split_new(9, slots) == slots
    assert split_new(0, slots) == (("quickfire", 0), ("screening", 0))


def test_the_forecast_counts_the_reviews_the_plan_will_bring() -> None:
    today = date(2026, 12, 7)
    plan = pace(today=today, budget=4, unseen=120, days=range(7), goal=today + timedelta(days=60))
    result = fresh_forecast(
        plan, today=today, goal=today + timedelta(days=60), available=120, days=range(7)
    )
    assert result.reviews_per_day[0] > 0  # new questions come back within their first week
    assert result.covered_at_goal == 120  # everything is seen by the date
    assert result.recall_at_goal is not None and 0.5 < result.recall_at_goal <= 1.0


def test_the_fixed_plan_comes_back_on_days_3_7_14_and_21_whatever_the_grade() -> None:
    srs = Srs(schedule="fixed")
    first = NOW
    card = srs.new_card(now=first, card_id=1)
    at = first
    back_on = []
    for grade in (Grade.NO, Grade.STRONG, Grade.LEAN, Grade.STRONG, Grade.NO):
        review = srs.review(card, grade, at=at)
        card, at = review.card, review.due
        back_on.append((review.due - first).days)
    assert back_on == [3, 7, 14, 21, 42]


def test_fsrs_brings_a_first_sight_lean_or_no_hire_back_the_next_day() -> None:
    srs = Srs()
    for grade in (Grade.LEAN, Grade.NO):
        review = srs.review(srs.new_card(now=NOW, card_id=1), grade, at=NOW)
        assert review.due - NOW == timedelta(days=1)


# ---- end to end: commands, the daily dispatch and grading -------------------------------


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_a_goal_paces_the_small_bank_to_be_covered_a_week_early(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe", time="09:00", timezone="UTC", days="daily", quickfire=3, screening=1
    )
    await harness.command("drillbot goal", date=date(2026, 12, 10))
    reply = harness.last_text()
    assert "Interview date set: Thu 10 Dec 2026" in reply
    assert "Seen 0 of 8 questions" in reply
    assert "8 new to go over 11 drill days before 03 Dec: 1 a day (your budget 4)" in reply
    assert "Expected reviews a drill day: week 1:" in reply
    assert "Predicted recall on 10 Dec" in reply

    new_by_day: dict[str, list[str]] = {}
    day = utc(2026, 11, 23, 9, 30)
    while day <= utc(2026, 12, 3, 9, 30):
        before = len(harness.port.deliveries)
        await harness.jump_through(day)
        for delivery in harness.port.deliveries[before:]:
            card = delivery.message
            if isinstance(card, QuestionCard) and card.heading.endswith("· new"):
                new_by_day.setdefault(f"{day:%m-%d}", []).append(card.question_id)
                await harness.react(delivery.message_ref, Grade.STRONG)
        day += timedelta(days=1)
    assert all(len(ids) == 1 for ids in new_by_day.values()), new_by_day
    seen = [qid for ids in new_by_day.values() for qid in ids]
    assert len(seen) == len(set(seen)) == 8  # every question, once, by the cut-off


async def test_a_goal_the_drill_cannot_meet_says_so_and_names_the_budget(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe",
        time="09:00",
        timezone="UTC",
        days="weekdays",
        quickfire=1,
        screening=0,
    )
    await harness.command("drillbot goal", date=date(2026, 12, 3))  # cut-off Thu 26 Nov
    reply = harness.last_text()
    assert "needs 2 a day, more than your 1" in reply
    assert "/drillbot subscribe quickfire=N screening=N adding up to 2" in reply
    await harness.command("drillbot goal", date=date(2026, 11, 20))
    assert "is not in the future" in harness.last_text()
    await harness.command("drillbot goal", date="off")
    assert "Interview date removed." in harness.last_text()
    (subscription,) = await harness.rows(Subscription)
    assert subscription.goal_date is None


async def test_a_goal_needs_a_daily_drill(harness: Harness) -> None:
    await harness.command("drillbot goal", date=date(2027, 3, 1))
    assert "start it with /drillbot subscribe" in harness.last_text()


async def test_settings_show_the_plan(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe", time="09:00", timezone="UTC", days="daily", reviewonly="sat,sun"
    )
    await harness.command("drillbot settings")
    reply = harness.last_text()
    assert "reviews only on weekends" in reply
    assert "Seen 0 of 8 questions in your tracks." in reply
    assert "New questions a drill day: 4 (no interview date set)." in reply


async def test_a_review_only_day_brings_reviews_and_no_new_questions(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe",
        time="09:00",
        timezone="UTC",
        days="daily",
        quickfire=1,
        screening=0,
        reviewonly="sat,sun",
    )
    await harness.jump_through(utc(2026, 11, 27, 9, 30))  # Monday to Friday
    for card in harness.port.cards():
        await harness.react(harness.port.delivery_of_card(card.post_id).message_ref, Grade.NO)
    before = len(harness.port.cards())
    await harness.jump_through(utc(2026, 11, 28, 9, 30))  # Saturday
    saturday = harness.port.cards()[before:]
    assert saturday and all("review" in card.heading for card in saturday)


async def test_the_fixed_plan_brings_a_question_back_on_day_three(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe",
        time="09:00",
        timezone="UTC",
        days="daily",
        quickfire=1,
        screening=0,
        schedule="fixed",
    )
    await harness.jump_through(utc(2026, 11, 23, 9, 30))
    (first,) = harness.port.cards()
    await harness.react(harness.port.delivery_of_card(first.post_id).message_ref, Grade.STRONG)
    (card,) = await harness.rows(SrsCard)
    assert card.due == utc(2026, 11, 26, 9, 30)  # day 3, where FSRS would say day 2
    await harness.jump_through(utc(2026, 11, 25, 9, 30))
    assert first.question_id not in [c.question_id for c in harness.port.cards()[1:]]
    await harness.jump_through(utc(2026, 11, 26, 9, 30))
    back = [c for c in harness.port.cards()[1:] if c.question_id == first.question_id]
    assert len(back) == 1 and "review" in back[0].heading
    await harness.react(harness.port.delivery_of_card(back[0].post_id).message_ref, Grade.NO)
    (card,) = await harness.rows(SrsCard)
    assert card.due == utc(2026, 11, 30, 9, 30)  # day 7, whatever the grade


async def test_stats_show_the_plan_towards_the_interview(harness: Harness) -> None:
    await harness.command("drillbot subscribe", time="09:00", timezone="UTC", days="daily")
    await harness.command("drillbot goal", date=date(2027, 1, 11))
    await harness.jump_through(utc(2026, 11, 23, 9, 30))
    for card in harness.port.cards():
        await harness.react(harness.port.delivery_of_card(card.post_id).message_ref, Grade.LEAN)
    await harness.command("stats")
    text = next(t for t in reversed(harness.port.texts()) if "Seen" in t)
    assert "Seen 1 of 8 questions in your tracks." in text
    assert "Interview 11 Jan 2027: 7 new to go over" in text


def test_a_goal_no_drill_can_meet_names_the_earliest_date_that_fits() -> None:
    today = date(2026, 12, 7)
    goal = date(2026, 12, 20)
    plan = pace(today=today, budget=4, unseen=108, days=range(7), goal=goal)
    assert plan.needed == 16
    assert earliest_goal(today=today, unseen=108, budget=4, days=range(7), review_only=()) == (
        date(2027, 1, 9)  # 27 drill days from 7 Dec end on 2 Jan; then the week of reviews
    )
    text = "\n".join(
        fresh_forecast(plan, today=today, goal=goal, available=108, days=range(7)).describe(
            goal=goal
        )
    )
    assert "That is more than a drill takes (15)" in text
    assert "at 4 a day the earliest date that fits is 09 Jan 2027" in text
    assert "of the 52 questions seen by then" in text  # 13 days at 4 a day before the date
