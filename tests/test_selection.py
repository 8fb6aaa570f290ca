"""Which questions come next: due first, capped, then new, never too soon again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.selection import Candidate, Filters, SelectionRules, select_questions

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BANK = [
    Candidate(f"q{i}", "llm" if i % 2 else "deep-learning", "screening" if i % 3 else "quickfire")
    for i in range(12)
]


def pick(**kwargs):
    defaults = dict(candidates=BANK, due_at={}, last_shown={}, now=NOW, count=3)
    return select_questions(**{**defaults, **kwargs})


def test_due_cards_come_first_most_overdue_first() -> None:
    due = {
        "q5": NOW - timedelta(days=1),
        "q2": NOW - timedelta(days=4),
        "q7": NOW + timedelta(days=3),
    }
    picked = pick(due_at=due, count=4)
    assert [p.question_id for p in picked[:2]] == ["q2", "q5"]
    assert [p.reason for p in picked] == ["due", "due", "new", "new"]
    assert "q7" not in [p.question_id for p in picked]


def test_daily_cap_leaves_the_rest_of_the_backlog_for_later() -> None:
    due = {f"q{i}": NOW - timedelta(days=i + 1) for i in range(8)}
    picked = pick(due_at=due, count=5, rules=SelectionRules(max_reviews=2))
    assert [p.reason for p in picked].count("due") == 2
    picked = pick(due_at=due, count=5, rules=SelectionRules(max_reviews=2), reviews_today=2)
    assert [p.reason for p in picked].count("due") == 0


def test_recently_shown_questions_wait_unless_due() -> None:
    shown = {c.question_id: NOW - timedelta(days=2) for c in BANK[:10]}
    picked = pick(last_shown=shown, count=5)
    assert {p.question_id for p in picked} == {"q10", "q11"}
    due = {"q3": NOW - timedelta(hours=1)}
    picked = pick(last_shown=shown, due_at=due, count=5)
    assert "q3" in {p.question_id for p in picked}


def test_nothing_shown_in_the_last_hours_repeats_even_if_due() -> None:
    due = {"q3": NOW - timedelta(hours=1)}
    picked = pick(due_at=due, last_shown={"q3": NOW - timedelta(hours=2)}, count=12)
    assert "q3" not in {p.question_id for p in picked}


def test_filters_apply_to_reviews_and_new_questions() -> None:
    due = {"q2": NOW - timedelta(days=1), "q3": NOW - timedelta(days=1)}
    picked = pick(due_at=due, count=12, filters=Filters(tracks=("llm",)))
    assert picked and all(int(p.question_id[1:]) % 2 == 1 for p in picked)
    assert picked[0].question_id == "q3"


def test_the_same_seed_gives_the_same_questions() -> None:
    assert pick(seed="ana:2026-11-23") == pick(seed="ana:2026-11-23")
    seeds = {tuple(p.question_id for p in pick(seed=s)) for s in range(20)}
    assert len(seeds) > 1


def test_when_everything_was_seen_early_reviews_fill_in() -> None:
    due = {c.question_id: NOW + timedelta(days=i + 1) for i, c in enumerate(BANK)}
    shown = {c.question_id: NOW - timedelta(days=8) for c in BANK}
    picked = pick(due_at=due, last_shown=shown, count=2)
    assert [(p.question_id, p.reason) for p in picked] == [("q0", "ahead"), ("q1", "ahead")]


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(0, 15),
    due_days=st.dictionaries(st.sampled_from([c.question_id for c in BANK]), st.integers(-30, 30)),
    shown_hours=st.dictionaries(
        st.sampled_from([c.question_id for c in BANK]), st.integers(0, 400)
    ),
    cap=st.integers(0, 12),
    track=st.sampled_from([None, "llm", "deep-learning"]),
)
def test_selection_invariants(count, due_days, shown_hours, cap, track) -> None:
    due = {q: NOW + timedelta(days=d) for q, d in due_days.items()}
    shown = {q: NOW - timedelta(hours=h) for q, h in shown_hours.items()}
    filters = Filters(tracks=(track,) if track else ())
    picked = pick(
        due_at=due,
        last_shown=shown,
        count=count,
        filters=filters,
        rules=SelectionRules(max_reviews=cap),
    )
    ids = [p.question_id for p in picked]
    assert len(ids) <= count
    assert len(ids) == len(set(ids))
    assert sum(p.reason == "due" for p in picked) <= cap
    by_id = {c.question_id: c for c in BANK}
    assert all(filters.match(by_id[q]) for q in ids)
    for p in picked:
        if p.reason == "due":
            assert due[p.question_id] <= NOW
        else:
            assert p.question_id not in shown or NOW - shown[p.question_id] >= timedelta(days=7)


def test_seeded_draws_repeat_for_a_seed_and_differ_across_seeds() -> None:
    from bot.domain.selection import SeededDraw

    items = list(range(50))
    first = SeededDraw("7:2026-11-24:quickfire").sample(items, 4)
    assert first == SeededDraw("7:2026-11-24:quickfire").sample(items, 4)
    assert len(set(first)) == 4 and set(first) <= set(items)
    others = {
        tuple(SeededDraw(f"{member}:2026-11-24:quickfire").sample(items, 4))
        for member in range(200)
    }
    assert len(others) > 190  # members on one day get different questions
    everything = SeededDraw(1).sample(items, 50)
    assert sorted(everything) == items  # asking for all of them is a shuffle
