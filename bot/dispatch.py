"""The scheduled work: daily DM drills and channel questions, claimed by a periodic tick.

No job per member: each subscription and channel stores `next_run_at` (UTC, indexed).
A tick claims what is due in batches, inserts the outbox rows and advances
`next_run_at` in the same transaction, then sends. On PostgreSQL the claim uses
``FOR UPDATE SKIP LOCKED`` so several instances share the work without doubles; the
outbox keys (`dm:{member}:{local date}:{n}`) make a repeat impossible either way.

Downtime: a run is sent if it is less than `grace` late; an older one is skipped, and
only the latest missed day is ever considered, so nobody gets a burst of old drills.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict, namedtuple
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.learning_plan import Pace, pace, split_new
from bot.domain.schedule import LocalSchedule, decode_days, resolve_local
from bot.domain.selection import (
    Candidate,
    CandidatePool,
    DrillBudget,
    Filters,
    SelectionRules,
    draw_new,
    is_new_enough,
    plan_daily_drill,
    select_questions,
    slot_filters,
)
from bot.domain.weeks import shift_week, week_label
from bot.messages import REVIEWS_PER_MESSAGE, QuestionCard, QuestionFace
from bot.outbox import GROUPED, QUESTION_FACE_COLUMNS, OutgoingPost, question_face, with_review
from bot.progress import leaderboard
from bot.rounds import maintain as maintain_rounds
from bot.storage.bulk import insert_rows_ignoring_conflicts, update_by_key
from bot.storage.database import transaction
from bot.storage.models import (
    Channel,
    Member,
    Post,
    Question,
    ReviewLog,
    SrsCard,
    Subscription,
    Team,
)
from bot.storage.repository import insert_post
from bot.storage.statistics import OutboxStatistics

logger = logging.getLogger(__name__)

CHANNEL_REPEAT_GAP = timedelta(days=60)
BOARD_TIME = time(9, 0)


@dataclass(frozen=True)
class DispatchSettings:
    batch_size: int = 1000
    grace: timedelta = timedelta(hours=6)


@dataclass
class TickReport:
    dm_runs: int = 0
    channel_runs: int = 0
    skipped_late: int = 0
    posts_inserted: int = 0
    posts_sent: int = 0
    lag_seconds: float = 0.0
    rounds_closed: int = 0
    boards_posted: int = 0
    inbound_recovered: int = 0  # members whose stored events a crash or stop had cut off


@dataclass(frozen=True, slots=True)
class PlannedCard:
    question_id: str
    reason: str
    level: str


@dataclass(frozen=True)
class PlannedRun:
    """One member's (or channel's) run on one local date: who, when, what."""

    target: str
    local_date: date
    run_at: datetime
    timezone: str
    cards: tuple[PlannedCard, ...]


SUBSCRIPTION_COLUMNS = (
    Subscription.id,
    Subscription.member_id,
    Subscription.active,
    Subscription.local_time,
    Subscription.timezone,
    Subscription.days,
    Subscription.quickfire_count,
    Subscription.screening_count,
    Subscription.tracks,
    Subscription.companies,
    Subscription.paused_until,
    Subscription.next_run_at,
    Subscription.last_local_date,
    Subscription.runs,
    Subscription.skipped,
    Subscription.schedule,
    Subscription.goal_date,
    Subscription.review_only_days,
)
# What a claim reads of each due subscription: its columns, then its member's.
DUE_COLUMNS = (
    *SUBSCRIPTION_COLUMNS,
    Member.platform,
    Member.team_id,
    Member.unreachable_at,
    Member.external_id,
    Member.dm_channel_ref,
)
# A claimed row as a plain named tuple: the claim and planning read about twenty fields
# of each of a thousand rows a batch, and a SQLAlchemy row's attribute lookup is a
# Python call (a quarter of a microsecond) where a named tuple's is not.
DueSubscription = namedtuple("DueSubscription", [column.key for column in DUE_COLUMNS])


# What a claim changes on each subscription it runs, in the order it builds them.
SUBSCRIPTION_CHANGES = ("next_run_at", "last_local_date", "runs", "skipped")
# The per-card values of a DM drill's outbox rows, in the order the claim builds them.
DM_POST_COLUMNS = (
    "key",
    "platform",
    "team_id",
    "member_id",
    "question_id",
    "position",
    "heading",
    "status",
)

# The per-channel values of a daily channel question's outbox row, in the order it is built.
CHANNEL_POST_COLUMNS = ("key", "platform", "team_id", "channel_ref", "question_id", "heading")


@dataclass(frozen=True, slots=True)
class DayWindow:
    """A run's local day: its date, and when it starts and ends in that zone."""

    day: date
    iso: str
    midnight: datetime
    end: datetime

    @classmethod
    def of(cls, run_at: datetime, timezone: str) -> DayWindow:
        zone = ZoneInfo(timezone)
        day = run_at.astimezone(zone).date()
        return cls(
            day=day,
            iso=day.isoformat(),
            midnight=datetime.combine(day, time(), tzinfo=zone),
            end=datetime.combine(day + timedelta(days=1), time(), tzinfo=zone),
        )


class BankView:
    """The active questions as one tick sees them, read from the database at most once:
    what selection picks from, and what each card shows."""

    def __init__(self) -> None:
        self.pool = CandidatePool(())
        self.faces: dict[str, QuestionFace] = {}
        self._loaded = False

    async def load(self, session: AsyncSession) -> BankView:
        if not self._loaded:
            rows = (await session.execute(ACTIVE_QUESTION_COLUMNS)).all()
            self.pool = CandidatePool(candidate(row) for row in rows)
            self.faces = {row.id: question_face(row) for row in rows}
            self._loaded = True
        return self


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def subscription_schedule(subscription: Subscription) -> LocalSchedule:
    return LocalSchedule(
        parse_hhmm(subscription.local_time), subscription.timezone, decode_days(subscription.days)
    )


def channel_schedule(channel: Channel) -> LocalSchedule:
    return LocalSchedule(
        parse_hhmm(channel.local_time), channel.timezone, decode_days(channel.days)
    )


def next_subscription_run(subscription: Subscription, *, after: datetime) -> datetime | None:
    if not subscription.active:
        return None
    return subscription_schedule(subscription).next_run(
        after=after, not_before=subscription.paused_until
    )


class Dispatcher:
    def __init__(self, *, service, settings: DispatchSettings = DispatchSettings()) -> None:
        self.service = service
        self.settings = settings
        self.totals = TickReport()

    @property
    def _postgres(self) -> bool:
        return self.service.postgres

    async def tick(self) -> TickReport:
        """Claim and send everything due now. Safe to run on several instances at once."""
        report = TickReport()
        report.inbound_recovered = await self.service.process_backlog()
        await self.service.prune_journal()
        while await self._run_channels(report):
            pass
        statistics = OutboxStatistics(self.service.sessions) if self._postgres else None
        while True:
            claimed = await self._claim_subscriptions(report)
            if not claimed:
                break
            delivered = await self.service.outbox.send_claimed(claimed)
            report.posts_sent += delivered.sent
            if statistics is not None:
                await statistics.keep_up(inserted=report.posts_inserted)
        report.rounds_closed += await maintain_rounds(self.service)
        report.boards_posted += await self._post_boards()
        report.posts_sent += await self.service.outbox.resume_pending()
        self._add(report)
        self.service.metrics.observe_tick_lag(seconds=report.lag_seconds)
        return report

    def _add(self, report: TickReport) -> None:
        for name in (
            "dm_runs",
            "channel_runs",
            "skipped_late",
            "posts_inserted",
            "posts_sent",
            "rounds_closed",
            "boards_posted",
        ):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(report, name))
        self.totals.lag_seconds = max(self.totals.lag_seconds, report.lag_seconds)

    async def next_due(self) -> datetime | None:
        """The earliest scheduled run, for simulations that jump the clock."""
        async with transaction(self.service.sessions) as session:
            dm = await session.scalar(
                select(func.min(Subscription.next_run_at)).where(Subscription.active)
            )
            channel = await session.scalar(
                select(func.min(Channel.next_run_at)).where(Channel.daily_enabled)
            )
        found = [t for t in (dm, channel) if t is not None]
        return min(found) if found else None

    # ---- DM drills ------------------------------------------------------------------

    async def _claim_subscriptions(self, report: TickReport) -> list[OutgoingPost]:
        """Claim one batch of due subscriptions: plan, insert posts, advance, all at once.

        This runs for every member every day, so it works in plain tuples and works out
        what members share (their schedule's day) once per batch.
        """
        async with transaction(self.service.sessions) as session:
            now = self.service.clock.now()
            query = (
                select(*DUE_COLUMNS)
                .join(Member, Member.id == Subscription.member_id)
                .where(
                    Subscription.active,
                    Subscription.next_run_at.is_not(None),
                    Subscription.next_run_at <= now,
                )
                .order_by(Subscription.next_run_at)
                .limit(self.settings.batch_size)
            )
            if self._postgres:
                query = query.with_for_update(skip_locked=True, of=Subscription)
            # Core rows: the ORM's result machinery costs more than the query here.
            result = await (await session.connection()).execute(query)
            rows = list(map(DueSubscription._make, result))
            if not rows:
                return []
            # The questions, read again only when the bank in the database changed.
            bank = await self.service.bank_view(session)
            planner = await Planner.load(
                session,
                service=self.service,
                member_ids=[row.member_id for row in rows],
                now=now,
                pool=bank.pool,
            )
            posts: list[tuple] = []  # DM_POST_COLUMNS
            changes: list[tuple] = []  # SUBSCRIPTION_CHANGES, then the id
            recipients: dict[int, tuple[str, str | None]] = {}
            # Members share schedules: work each distinct one out once per batch.
            timing: dict[tuple, tuple[datetime | None, datetime | None, DayWindow | None]] = {}
            lease_until = now + self.service.outbox.policy.lease
            oldest = rows[0].next_run_at
            for row in rows:
                shape = (row.local_time, row.timezone, row.days, row.paused_until)
                found = timing.get(shape)
                if found is None:
                    run = self._due_run(row, now)
                    window = DayWindow.of(run, row.timezone) if run is not None else None
                    found = timing[shape] = (run, next_subscription_run(row, after=now), window)
                run, next_run, window = found
                last_day, runs, skipped = row.last_local_date, row.runs, row.skipped
                if run is None or row.unreachable_at is not None:
                    report.skipped_late += run is None
                    skipped += 1
                elif last_day != window.day:  # else it ran today, before a settings change
                    last_day, runs = window.day, runs + 1
                    member_id = row.member_id
                    recipients[member_id] = (row.external_id, row.dm_channel_ref)
                    cards = planner.plan_member(row, window=window, now=now)
                    key = f"dm:{member_id}:{window.iso}:"
                    platform, team_id = row.platform, row.team_id
                    posts.extend(
                        (key + str(position), platform, team_id, member_id, qid, position, *rest)
                        for position, (qid, *rest) in enumerate(drill_rows(cards), start=1)
                    )
                    report.dm_runs += 1
                changes.append((next_run, last_day, runs, skipped, row.id))
            report.lag_seconds = max(report.lag_seconds, (now - oldest).total_seconds())
            await update_by_key(session, Subscription.__table__, SUBSCRIPTION_CHANGES, changes)
            inserted = dict(
                await insert_rows_ignoring_conflicts(
                    session,
                    Post.__table__,
                    DM_POST_COLUMNS,
                    posts,
                    constants={"kind": "dm", "channel_ref": None, "lease_until": lease_until}
                    | new_post_values(now, status=None),
                    conflict_column="key",
                    returning=("key", "id"),
                )
            )
            report.posts_inserted += len(inserted)
        claimed: list[OutgoingPost] = []
        faces = bank.faces
        lead: OutgoingPost | None = None  # the post the next grouped reviews travel in
        for key, platform, _team, member_id, question_id, _position, heading, status in posts:
            post_id = inserted.get(key)
            if post_id is None:
                lead = None
                continue
            card = QuestionCard(post_id, faces[question_id], heading)
            if status == GROUPED:
                if lead is not None:
                    with_review(lead, card)
                continue
            user_ref, channel_ref = recipients[member_id]
            lead = OutgoingPost(post_id, "dm", platform, card, channel_ref, user_ref, member_id)
            claimed.append(lead)
        return claimed

    def _due_run(self, subscription: Subscription, now: datetime) -> datetime | None:
        """The run to send now (the latest one due, if not too late), or None to skip."""
        schedule = subscription_schedule(subscription)
        latest = schedule.latest_run(at_or_before=now)
        if latest is None or now - latest > self.settings.grace:
            return None
        paused = subscription.paused_until
        if paused is not None and latest.astimezone(schedule.zone).date() < paused:
            return None
        return latest

    # ---- the Monday leaderboard -----------------------------------------------------

    async def _post_boards(self) -> int:
        """Every Monday at 09:00 team time, last week's board in each daily channel, once."""
        inserted = 0
        async with transaction(self.service.sessions) as session:
            now = self.service.clock.now()
            channels = (
                await session.execute(
                    select(Channel, Team)
                    .join(Team, Team.id == Channel.team_id)
                    .where(Channel.daily_enabled)
                )
            ).all()
            for channel, team in channels:
                zone = ZoneInfo(team.timezone)
                local = now.astimezone(zone)
                monday = local.date() - timedelta(days=local.weekday())
                post_at = resolve_local(monday, BOARD_TIME, zone)
                if not post_at <= now <= post_at + self.settings.grace:
                    continue
                week = shift_week(week_label(now, team.timezone), -1)
                key = f"board:{team.id}:{week}:{channel.id}"
                if await session.scalar(select(Post.id).where(Post.key == key)):
                    continue
                board = await leaderboard(
                    session, team_id=team.id, week=week, timezone=team.timezone
                )
                view = board.view(team.name)
                payload = {
                    "type": "leaderboard",
                    "week": week,
                    "title": view.title,
                    "rows": [asdict(row) for row in view.rows],
                }
                _, created = await insert_post(
                    session,
                    Post(
                        key=key,
                        kind="board",
                        platform=channel.platform,
                        team_id=team.id,
                        member_id=None,
                        channel_ref=channel.channel_ref,
                        payload=payload,
                        status="pending",
                        not_before=now,
                        created_at=now,
                    ),
                )
                inserted += created
        return inserted

    # ---- channel questions ----------------------------------------------------------

    async def _run_channels(self, report: TickReport) -> bool:
        async with transaction(self.service.sessions) as session:
            now = self.service.clock.now()
            query = (
                select(Channel)
                .where(
                    Channel.daily_enabled,
                    Channel.next_run_at.is_not(None),
                    Channel.next_run_at <= now,
                )
                .order_by(Channel.next_run_at)
                .limit(50)
            )
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            channels = list(await session.scalars(query))
            if not channels:
                return False
            pool = (await self.service.bank_view(session)).pool
            posts = []
            for channel in channels:
                schedule = channel_schedule(channel)
                latest = schedule.latest_run(at_or_before=now)
                channel.next_run_at = schedule.next_run(after=now)
                if latest is None or now - latest > self.settings.grace:
                    report.skipped_late += 1
                    continue
                local_day = latest.astimezone(schedule.zone).date()
                if channel.last_local_date == local_day:
                    continue
                channel.last_local_date = local_day
                recent = set(
                    await session.scalars(
                        select(Post.question_id).where(
                            Post.team_id == channel.team_id,
                            Post.kind == "channel",
                            Post.channel_ref == channel.channel_ref,
                            Post.created_at >= now - CHANNEL_REPEAT_GAP,
                        )
                    )
                )
                filters = Filters(
                    tracks=tuple(channel.tracks or ()),
                    levels=tuple(channel.levels or ()) or ("screening",),
                )
                picked = []
                # Nothing the channel saw in the last 60 days; if the filters leave nothing
                # else, any matching question.
                for avoid in (recent, set()):
                    picked = picked or select_questions(
                        candidates=pool,
                        due_at={},
                        last_shown={},
                        now=now,
                        count=1,
                        filters=filters,
                        exclude=avoid,
                        seed=f"channel:{channel.id}:{local_day}",
                    )
                if not picked:
                    logger.warning(
                        "channel %s: no question matches its tracks and levels", channel.channel_ref
                    )
                    continue
                posts.append(
                    (
                        f"channel:{channel.id}:{local_day.isoformat()}",
                        channel.platform,
                        channel.team_id,
                        channel.channel_ref,
                        picked[0].question_id,
                        f"Question of the day · {local_day:%a %d %b}",
                    )
                )
                report.channel_runs += 1
            inserted = await insert_rows_ignoring_conflicts(
                session,
                Post.__table__,
                CHANNEL_POST_COLUMNS,
                posts,
                constants={"kind": "channel", "member_id": None, "position": 1}
                | new_post_values(now),
                conflict_column="key",
            )
            ids = sorted(post_id for (post_id,) in inserted)
            report.posts_inserted += len(ids)
        if ids:
            delivered = await self.service.outbox.deliver_many(ids)
            report.posts_sent += delivered.sent
        return True


REASONS = {"due": "review", "new": "new", "ahead": "early review"}


@cache
def drill_heading(position: int, total: int, reason: str) -> str:
    """A DM card's heading: there are only a few dozen, and a daily run needs one per card."""
    return f"Daily drill {position}/{total} · {REASONS[reason]}"


@cache
def review_heading(position: int, total: int) -> str:
    return f"Daily drill · review {position}/{total}"


def drill_rows(cards: list[PlannedCard]) -> list[tuple[str, str, str]]:
    """(question id, heading, status) for each of a day's cards, in sending order.

    New questions (and early reviews filling new slots) are cards of their own; the due
    reviews follow, REVIEWS_PER_MESSAGE to a message: the first of each message is the
    post that is sent, the others are grouped into it.
    """
    fresh = [card for card in cards if card.reason != "due"]
    due = [card for card in cards if card.reason == "due"]
    rows = [
        (card.question_id, drill_heading(position, len(fresh), card.reason), "pending")
        for position, card in enumerate(fresh, start=1)
    ]
    for start in range(0, len(due), REVIEWS_PER_MESSAGE):
        group = due[start : start + REVIEWS_PER_MESSAGE]
        rows.extend(
            (
                card.question_id,
                review_heading(start + offset + 1, len(due)),
                GROUPED if offset else "pending",
            )
            for offset, card in enumerate(group)
        )
    return rows


def new_post_values(now: datetime, *, status: str | None = "pending") -> dict:
    """What every outbox row the dispatch inserts starts with (`status` None: each row
    names its own)."""
    values = {"attempts": 0, "not_before": now, "created_at": now}
    return values if status is None else {"status": status} | values


ACTIVE_QUESTION_COLUMNS = select(*QUESTION_FACE_COLUMNS).where(Question.active)


def candidate(question) -> Candidate:
    """A question row (with id, track, level and data) as selection sees it."""
    data = question.data
    return Candidate(
        question.id,
        question.track,
        question.level,
        tuple(data.get("tags") or ()),
        tuple(data.get("companies") or ()),
    )


@dataclass(frozen=True)
class BatchQueries:
    """What planning reads about a batch of members, built once per kind of database.

    The batch's member ids go in as one value (a JSON array SQLite unpacks with
    json_each, a PostgreSQL array), not a thousand placeholders to render, bind and
    convert on every batch and query.
    """

    srs_cards: Select
    recent_questions: Select
    recent_reviews: Select
    postgres: bool

    @classmethod
    @cache
    def build(cls, *, postgres: bool) -> BatchQueries:
        if postgres:
            ids = bindparam("member_ids", type_=ARRAY(Integer))

            def of_batch(column):
                return column == any_(ids)
        else:
            unpacked = func.json_each(bindparam("member_ids", type_=String)).table_valued("value")

            def of_batch(column):
                return column.in_(select(unpacked.c.value))

        return cls(
            srs_cards=select(SrsCard.member_id, SrsCard.question_id, SrsCard.due).where(
                of_batch(SrsCard.member_id), SrsCard.reviews > 0
            ),
            recent_questions=(
                select(Post.member_id, Post.question_id, func.max(Post.created_at))
                .where(
                    of_batch(Post.member_id),
                    Post.question_id.is_not(None),
                    Post.created_at >= bindparam("since", type_=Post.created_at.type),
                )
                .group_by(Post.member_id, Post.question_id)
            ),
            recent_reviews=select(ReviewLog.member_id, ReviewLog.reviewed_at).where(
                of_batch(ReviewLog.member_id),
                ReviewLog.superseded.is_(False),
                ReviewLog.reviewed_at >= bindparam("since", type_=ReviewLog.reviewed_at.type),
            ),
            postgres=postgres,
        )

    def batch(self, member_ids: list[int]) -> list[int] | str:
        """The value of the member_ids parameter."""
        return member_ids if self.postgres else json.dumps(member_ids)


class Planner:
    """Chooses each member's cards for a run, from state loaded once for a whole batch."""

    def __init__(
        self,
        *,
        pool: CandidatePool,
        rules: SelectionRules,
        due: dict[int, dict[str, datetime]],
        shown: dict[int, dict[str, datetime]],
        reviews: dict[int, list[datetime]],
    ) -> None:
        self.pool = pool
        self.rules = rules
        self.due = due
        self.shown = shown
        self.reviews = reviews

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        *,
        service,
        member_ids: list[int],
        now: datetime,
        pool: CandidatePool,
    ) -> Planner:
        rules: SelectionRules = service.rules
        queries = BatchQueries.build(postgres=service.postgres)
        batch = queries.batch(member_ids)
        # Core rows, as the claim reads: once members have history these are tens of
        # rows each, and the ORM's result machinery cost more than the queries.
        connection = await session.connection()
        due: dict[int, dict[str, datetime]] = defaultdict(dict)
        for member_id, question_id, due_at in await connection.execute(
            queries.srs_cards, {"member_ids": batch}
        ):
            due[member_id][question_id] = due_at
        shown: dict[int, dict[str, datetime]] = defaultdict(dict)
        for member_id, question_id, at in await connection.execute(
            queries.recent_questions, {"member_ids": batch, "since": now - rules.repeat_gap}
        ):
            shown[member_id][question_id] = at
        reviews: dict[int, list[datetime]] = defaultdict(list)
        for member_id, at in await connection.execute(
            queries.recent_reviews,
            {"member_ids": batch, "since": now - timedelta(days=1, hours=14)},
        ):
            reviews[member_id].append(at)
        return cls(
            pool=pool,
            rules=rules,
            due=due,
            shown=shown,
            reviews=reviews,
        )

    def pace(self, subscription, *, day: date, now: datetime) -> Pace:
        """How many new questions the member gets on `day`, and how their plan stands."""
        member_id = subscription.member_id
        due = self.due.get(member_id, {})
        shown = self.shown.get(member_id, {})
        tracks = tuple(subscription.tracks or ())
        _, track_ids = self.pool.eligible(Filters(tracks=tracks))
        if due or shown:
            gap = self.rules.repeat_gap
            unseen = sum(
                1
                for qid in track_ids
                if qid not in due and is_new_enough(shown.get(qid), now=now, gap=gap)
            )
        else:
            unseen = len(track_ids)
        return pace(
            today=day,
            budget=subscription.quickfire_count + subscription.screening_count,
            unseen=unseen,
            days=decode_days(subscription.days),
            review_only=decode_days(subscription.review_only_days or ""),
            goal=subscription.goal_date,
        )

    def plan_member(self, subscription, *, window: DayWindow, now: datetime) -> list[PlannedCard]:
        """Cards for one run on the local day `window`; `subscription` is a Subscription or
        a row of its columns. New questions first, then the due reviews."""
        member_id = subscription.member_id
        reviews = self.reviews.get(member_id)
        reviews_today = sum(1 for at in reviews if at >= window.midnight) if reviews else 0
        due = self.due.get(member_id, {})
        shown = self.shown.get(member_id, {})
        tracks = tuple(subscription.tracks or ())
        companies = tuple(subscription.companies or ())
        slots: tuple[tuple[str, int], ...] = (
            ("quickfire", subscription.quickfire_count),
            ("screening", subscription.screening_count),
        )
        if subscription.goal_date is not None or subscription.review_only_days:
            slots = split_new(self.pace(subscription, day=window.day, now=now).new_today, slots)
        if not due and not shown and not companies:
            # No history and one filter per level (most of a big first day): a sample,
            # unless a level has too few questions and the slot must borrow from others.
            cards: list[PlannedCard] = []
            for level, count in slots:
                (filters,) = slot_filters(tracks, level, ())
                seed = f"{member_id}:{window.iso}:{level}"
                cards += [
                    PlannedCard(c.question_id, "new", level)
                    for c in draw_new(self.pool, filters, count, seed)
                ]
            if len(cards) == sum(count for _, count in slots):
                return cards
        drill = plan_daily_drill(
            pool=self.pool,
            tracks=tracks,
            companies=companies,
            due_at=due,
            last_shown=shown,
            now=now,
            due_by=window.end,
            budget=DrillBudget(new=slots, reviews=max(0, self.rules.max_reviews - reviews_today)),
            rules=self.rules,
            seed=f"{member_id}:{window.iso}",
        )
        return [
            PlannedCard(picked.question_id, picked.reason, level or "review")
            for picked, level in drill
        ]
