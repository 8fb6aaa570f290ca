"""Which questions a member gets next.

The daily drill (`plan_daily_drill`) has two budgets: the member's new questions
(their quick-fire and screening counts) and, besides them, the reviews that are due,
up to the review cap. Reviews never take a new question's place, so a member who
drills every day works through their tracks at their pace. A level with nothing new
left lends its slot to the next level of the curriculum, so the deep dives, system
design and scenario questions come once the short ones are done.

On-demand drills (`select_questions`) keep one budget: FSRS reviews that are due (most
overdue first, capped per day so a member back from holiday is not buried), then
questions never seen, then, if the member has seen
everything that fits, the reviews due soonest. A question shown in the last
`repeat_gap` is not shown again unless FSRS says it is due, and nothing shown in the
last `cooldown` is shown again at all (an ungraded due card should not repeat in every
drill of the same afternoon).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache


@dataclass(frozen=True)
class Candidate:
    question_id: str
    track: str
    level: str
    tags: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filters:
    tracks: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()

    def match(self, candidate: Candidate) -> bool:
        if self.tracks and candidate.track not in self.tracks:
            return False
        if self.levels and candidate.level not in self.levels:
            return False
        return not self.companies or bool(set(candidate.companies) & set(self.companies))


@dataclass(frozen=True, slots=True)
class Picked:
    question_id: str
    reason: str  # "due", "new" or "ahead"


_MASK64 = (1 << 64) - 1


class SeededDraw:
    """Deterministic draws for one pick (splitmix64), the same for the same seed.

    A daily run picks for every member and level; seeding a Mersenne Twister for each
    of those costs more than the whole pick, and nothing here needs its quality.
    """

    def __init__(self, seed: int | str) -> None:
        self._state = zlib.crc32(str(seed).encode())

    def below(self, n: int) -> int:
        """A number in range(n)."""
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return (z ^ (z >> 31)) % n

    def sample(self, items: Sequence, k: int) -> list:
        """`k` distinct items in drawn order (k is small next to len(items) here)."""
        if k >= len(items):
            shuffled = list(items)
            self.shuffle(shuffled)
            return shuffled
        seen: set[int] = set()
        picked = []
        while len(picked) < k:
            index = self.below(len(items))
            if index not in seen:
                seen.add(index)
                picked.append(items[index])
        return picked

    def shuffle(self, items: list) -> None:
        """Fisher-Yates, in place."""
        for last in range(len(items) - 1, 0, -1):
            other = self.below(last + 1)
            items[last], items[other] = items[other], items[last]


@dataclass(frozen=True)
class SelectionRules:
    max_reviews: int = 10
    repeat_gap: timedelta = timedelta(days=7)
    cooldown: timedelta = timedelta(hours=12)


class CandidatePool:
    """The bank as selection sees it, with each filter's matches computed once.

    Picking for 100k members a day would otherwise filter the whole bank 100k times.
    """

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self._all = tuple(candidates)
        self._levels = frozenset(c.level for c in self._all)
        # Keyed by the filter's fields: equal filters built by different callers share
        # one entry, and a tuple of strings hashes far faster than a dataclass.
        self._cache: dict[tuple, tuple[tuple[Candidate, ...], frozenset[str]]] = {}

    def __len__(self) -> int:
        return len(self._all)

    def levels(self) -> frozenset[str]:
        return self._levels

    def eligible(self, filters: Filters) -> tuple[tuple[Candidate, ...], frozenset[str]]:
        key = (filters.tracks, filters.levels, filters.companies)
        found = self._cache.get(key)
        if found is None:
            matches = tuple(c for c in self._all if filters.match(c))
            found = (matches, frozenset(c.question_id for c in matches))
            self._cache[key] = found
        return found


def draw_new(pool: CandidatePool, filters: Filters, count: int, seed: int | str) -> list[Candidate]:
    """What `select_questions` picks for a member with no history: `count` questions
    matching `filters`, drawn by `seed`."""
    eligible, _ = pool.eligible(filters)
    if count <= 0 or not eligible:
        return []
    return SeededDraw(seed).sample(eligible, min(count, len(eligible)))


def select_questions(
    *,
    candidates: Sequence[Candidate] | CandidatePool,
    due_at: Mapping[str, datetime],
    last_shown: Mapping[str, datetime],
    now: datetime,
    count: int,
    filters: Filters = Filters(),
    rules: SelectionRules = SelectionRules(),
    reviews_today: int = 0,
    seed: int | str = 0,
    exclude: Collection[str] = (),
    due_by: datetime | None = None,
) -> list[Picked]:
    """Pick up to `count` questions; deterministic for the same inputs and seed.

    `due_by` (default `now`) is when a card counts as due: the daily drill passes the end
    of the member's local day, so a card FSRS wants back "tomorrow" is in tomorrow's
    drill even if that drill runs a few minutes before the exact due time.
    """
    pool = candidates if isinstance(candidates, CandidatePool) else CandidatePool(candidates)
    eligible, eligible_ids = pool.eligible(filters)
    if count <= 0 or not eligible:
        return []
    if not due_at and not last_shown and not exclude:
        # A member with no history: a plain sample, the common case on a big first day.
        return [Picked(c.question_id, "new") for c in draw_new(pool, filters, count, seed)]
    due_by = due_by or now

    def cooled(question_id: str) -> bool:
        shown = last_shown.get(question_id)
        return shown is None or now - shown >= rules.cooldown

    def outside_gap(question_id: str) -> bool:
        shown = last_shown.get(question_id)
        return shown is None or now - shown >= rules.repeat_gap

    picked: list[Picked] = []
    chosen: set[str] = set()
    review_budget = max(0, rules.max_reviews - reviews_today)
    due = sorted(
        (due, qid)
        for qid, due in due_at.items()
        if due <= due_by and qid in eligible_ids and qid not in exclude
    )
    for _, question_id in due:
        if len(picked) >= min(count, review_budget):
            break
        if cooled(question_id):
            picked.append(Picked(question_id, "due"))
            chosen.add(question_id)

    def fresh(candidate: Candidate) -> bool:
        qid = candidate.question_id
        return qid not in due_at and qid not in chosen and qid not in exclude and outside_gap(qid)

    rng = SeededDraw(seed)
    wanted = count - len(picked)
    # Rejection sampling is cheap while most of the bank is still new to the member;
    # once it is not, fall back to shuffling what is left.
    for _ in range(wanted * 4):
        if len(picked) >= count:
            break
        candidate = eligible[rng.below(len(eligible))]
        if fresh(candidate):
            picked.append(Picked(candidate.question_id, "new"))
            chosen.add(candidate.question_id)
    if len(picked) < count:
        rest = [c for c in eligible if fresh(c)]
        rng.shuffle(rest)
        for candidate in rest[: count - len(picked)]:
            picked.append(Picked(candidate.question_id, "new"))
            chosen.add(candidate.question_id)

    if len(picked) < count:
        ahead = due_soonest(
            due_at=due_at,
            after=due_by,
            eligible_ids=eligible_ids,
            skip=chosen | set(exclude),
            last_shown=last_shown,
            now=now,
            gap=rules.repeat_gap,
        )
        picked.extend(Picked(qid, "ahead") for qid in ahead[: count - len(picked)])
    return picked


# The curriculum's order of levels: a level with nothing new left lends its daily slots
# to the next one, so short questions come first and every level is reached.
LEVEL_ORDER = (
    "quickfire",
    "screening",
    "deep-dive",
    "scenario",
    "system-design",
    "staff",
    "research",
)


@cache
def levels_from(level: str, known: frozenset[str]) -> tuple[str, ...]:
    """`level` first, then the curriculum's later levels, then its earlier ones, then any
    level the bank has that the curriculum does not name."""
    order = list(LEVEL_ORDER)
    if level not in order:
        order.insert(0, level)
    start = order.index(level)
    ordered = order[start:] + order[:start]
    return tuple(ordered) + tuple(sorted(set(known) - set(ordered)))


@dataclass(frozen=True, slots=True)
class DrillBudget:
    """One daily drill's two budgets: new questions per level slot, and reviews."""

    new: tuple[tuple[str, int], ...]  # (level, count), in the drill's order
    reviews: int


def due_reviews(
    *,
    due_at: Mapping[str, datetime],
    last_shown: Mapping[str, datetime],
    eligible_ids: Collection[str],
    now: datetime,
    due_by: datetime,
    limit: int,
    cooldown: timedelta,
) -> list[str]:
    """Due questions, most overdue first, at most `limit`; nothing shown within `cooldown`."""
    if limit <= 0:
        return []
    due = sorted((due, qid) for qid, due in due_at.items() if due <= due_by and qid in eligible_ids)
    picked = []
    for _, question_id in due:
        shown = last_shown.get(question_id)
        if shown is None or now - shown >= cooldown:
            picked.append(question_id)
            if len(picked) >= limit:
                break
    return picked


def plan_daily_drill(
    *,
    pool: CandidatePool,
    tracks: tuple[str, ...],
    companies: tuple[str, ...],
    due_at: Mapping[str, datetime],
    last_shown: Mapping[str, datetime],
    now: datetime,
    due_by: datetime,
    budget: DrillBudget,
    rules: SelectionRules = SelectionRules(),
    seed: str = "",
) -> list[tuple[Picked, str]]:
    """A day's drill as (pick, slot level): the new questions, then the due reviews.

    New means never graded and not shown within `repeat_gap`. A slot takes its own
    level first (questions asked at the member's companies before others), then the
    curriculum's next levels. Once nothing new is left anywhere in the member's tracks,
    the new slots go to the reviews due soonest ("ahead"), so the drill is never empty.
    """
    taken: set[str] = set()
    drill: list[tuple[Picked, str]] = []
    levels = pool.levels()
    gap = rules.repeat_gap

    def is_new(question_id: str) -> bool:
        if question_id in due_at or question_id in taken:
            return False
        shown = last_shown.get(question_id)
        return shown is None or now - shown >= gap

    short: list[str] = []
    for level, count in budget.new:
        wanted = count
        rng = SeededDraw(f"{seed}:{level}")
        for slot_level in levels_from(level, levels):
            if wanted <= 0:
                break
            for filters in slot_filters(tracks, slot_level, companies):
                eligible, _ = pool.eligible(filters)
                for candidate in _draw_new(eligible, wanted, is_new, rng):
                    drill.append((Picked(candidate.question_id, "new"), level))
                    taken.add(candidate.question_id)
                    wanted -= 1
                if wanted <= 0:
                    break
        short.extend([level] * wanted)

    _, track_ids = pool.eligible(Filters(tracks=tracks))
    for question_id in due_reviews(
        due_at=due_at,
        last_shown=last_shown,
        eligible_ids=track_ids,
        now=now,
        due_by=due_by,
        limit=budget.reviews,
        cooldown=rules.cooldown,
    ):
        drill.append((Picked(question_id, "due"), ""))
        taken.add(question_id)

    if short:
        ahead = due_soonest(
            due_at=due_at,
            after=due_by,
            eligible_ids=track_ids,
            skip=taken,
            last_shown=last_shown,
            now=now,
            gap=rules.repeat_gap,
        )
        drill.extend(
            (Picked(qid, "ahead"), level) for qid, level in zip(ahead, short, strict=False)
        )
    return drill


@cache
def slot_filters(tracks: tuple[str, ...], level: str, companies: tuple[str, ...]) -> tuple:
    """A slot's filters: questions asked at the member's companies first, then any."""
    general = Filters(tracks=tracks, levels=(level,))
    if not companies:
        return (general,)
    return (Filters(tracks=tracks, levels=(level,), companies=companies), general)


def _draw_new(
    eligible: Sequence[Candidate], wanted: int, is_new: Callable[[str], bool], rng: SeededDraw
) -> list[Candidate]:
    """Up to `wanted` distinct new questions from `eligible`.

    Random draws are cheap while most of a level is still new to the member (a daily
    run plans for every member); once few are, shuffle what is left.
    """
    if wanted <= 0 or not eligible:
        return []
    picked: list[Candidate] = []
    chosen: set[str] = set()
    for _ in range(wanted * 4):
        candidate = eligible[rng.below(len(eligible))]
        qid = candidate.question_id
        if qid not in chosen and is_new(qid):
            picked.append(candidate)
            chosen.add(qid)
            if len(picked) >= wanted:
                return picked
    rest = [c for c in eligible if c.question_id not in chosen and is_new(c.question_id)]
    rng.shuffle(rest)
    return picked + rest[: wanted - len(picked)]


def due_soonest(
    *,
    due_at: Mapping[str, datetime],
    after: datetime,
    eligible_ids: Collection[str],
    skip: Collection[str],
    last_shown: Mapping[str, datetime],
    now: datetime,
    gap: timedelta,
) -> list[str]:
    """Questions not due until after `after`, soonest first: early reviews for a drill
    with nothing new left; none shown within `gap`."""
    ahead = sorted(
        (due, qid)
        for qid, due in due_at.items()
        if due > after
        and qid in eligible_ids
        and qid not in skip
        and is_new_enough(last_shown.get(qid), now=now, gap=gap)
    )
    return [qid for _, qid in ahead]


def is_new_enough(shown: datetime | None, *, now: datetime, gap: timedelta) -> bool:
    """Not shown within `gap` of `now`."""
    return shown is None or now - shown >= gap
