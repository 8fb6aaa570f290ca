"""`drillbot simulate`: weeks of team life on a fake clock, in seconds.

Simulated members subscribe at their own local times across many timezones (DST changes
included), get their drills through the recording platform, and grade most cards (some
they skip). The run then checks the two promises scheduling makes: no outbox key is
sent twice (`duplicates`) and every scheduled run was sent (`missed`).

Like bootstrap, this is a composition root: it wires the core to the recording port.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from adapters.fake import FakeChatPort
from bot.bootstrap import build
from bot.clock import FakeClock
from bot.config import Settings, load_settings
from bot.dispatch import BankView, subscription_schedule
from bot.domain.grades import Grade
from bot.domain.schedule import LocalSchedule, resolve_local
from bot.domain.selection import Filters
from bot.domain.weeks import shift_week, week_label
from bot.events import Actor, ButtonPressed, CommandInvoked, Conversation, ReactionAdded
from bot.messages import QuestionCard, ReviewDigest
from bot.progress import leaderboard
from bot.storage.database import transaction
from bot.storage.models import Member, Post, Round, Subscription, Team

PLATFORM = "sim"
TEAM = "T-sim"
CHANNEL = "C-sim"
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "UTC",
)
# Times people pick, with a few inside the hours that DST skips or repeats.
TIMES = (
    "06:30",
    "07:00",
    "07:45",
    "08:00",
    "08:30",
    "09:00",
    "12:15",
    "18:00",
    "21:30",
    "01:30",
    "02:30",
)
DAY_CHOICES = ("weekdays", "daily", "mon,wed,fri", "weekends")
DEFAULT_START = datetime(2026, 10, 19, tzinfo=UTC)  # Europe and the US change clocks inside 28 days
CARDS = (QuestionCard, ReviewDigest)  # the messages a member grades
GRADE_WEIGHTS = ((Grade.STRONG, 0.45), (Grade.LEAN, 0.35), (Grade.NO, 0.20))


@dataclass
class SimulationReport:
    members: int
    days: int
    seed: int
    start: str
    timezones: list[str]
    ticks: int = 0
    posts_sent: int = 0
    dm_drills: int = 0
    channel_questions: int = 0
    grades: dict[str, int] = field(default_factory=dict)
    cards_skipped: int = 0
    scheduled_runs: int = 0
    duplicates: int = 0
    missed: int = 0
    unexpected: int = 0
    mock_rounds_started: int = 0
    mock_rounds_completed: int = 0
    mock_rounds_expired: int = 0
    mock_rounds_abandoned: int = 0
    quickfire_rounds_completed: int = 0
    # Distinct questions each member was sent in their DMs (mean, least, most), and how
    # many questions their tracks hold: how much of the bank the daily drill covers.
    coverage: dict = field(default_factory=dict)
    leaderboard: dict = field(default_factory=dict)
    wall_seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def passed(self) -> bool:
        return not (self.duplicates or self.missed or self.unexpected)

    def summary(self) -> list[str]:
        """The report as a person reads it, ending in PASS or FAIL."""
        grades = self.grades
        lines = [
            f"Simulated {self.members} members for {self.days} days from {self.start[:10]} "
            f"(seed {self.seed}) in {self.wall_seconds:g} s; zones: {', '.join(self.timezones)}.",
            f"Daily drills: {self.dm_drills} sent for {self.scheduled_runs} scheduled runs; "
            f"{self.missed} missed, {self.duplicates} cards sent twice, "
            f"{self.unexpected} sent when none was due.",
            f"Posts sent: {self.posts_sent}, {self.channel_questions} of them channel "
            f"questions, over {self.ticks} ticks.",
            f"Grades: {grades.get('strong', 0)} Strong, {grades.get('lean', 0)} Lean, "
            f"{grades.get('no', 0)} No Hire; {self.cards_skipped} cards left ungraded.",
            f"Mock rounds: {self.mock_rounds_started} started, {self.mock_rounds_completed} "
            f"completed, {self.mock_rounds_expired} expired, {self.mock_rounds_abandoned} "
            f"abandoned; {self.quickfire_rounds_completed} quick-fire rounds completed.",
        ]
        if self.coverage:
            coverage = self.coverage
            lines.append(
                f"Coverage: {coverage['seen_mean']} of {coverage['available']} questions seen "
                f"a member (least {coverage['seen_min']}, most {coverage['seen_max']})."
            )
        if self.leaderboard:
            top = ", ".join(
                f"{row['member']} {row['completed']}" for row in self.leaderboard["top"][:3]
            )
            lines.append(
                f"Leaderboard {self.leaderboard['week']}: {top or 'no completed mock rounds'}."
            )
        if self.passed:
            lines.append("PASS: every scheduled drill was sent, once.")
        else:
            lines.append(
                f"FAIL: {self.missed} missed, {self.duplicates} sent twice, "
                f"{self.unexpected} unexpected."
            )
        return lines


async def simulate(
    *,
    members: int,
    days: int,
    seed: int,
    database_url: str | None = None,
    start: datetime = DEFAULT_START,
    settings: Settings | None = None,
) -> SimulationReport:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="drillbot-sim-") as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'simulation.db'}"
        settings = (settings or load_settings(env={})).model_copy(update={"database_url": url})
        report = await _run(settings, members=members, days=days, seed=seed, start=start)
    report.wall_seconds = round(time.perf_counter() - began, 2)
    return report


async def _run(
    settings: Settings, *, members: int, days: int, seed: int, start: datetime
) -> SimulationReport:
    rng = random.Random(seed)
    port = FakeChatPort(platform=PLATFORM)
    clock = FakeClock(start)
    app = await build(settings, ports={PLATFORM: port}, clock=clock)
    end = start + timedelta(days=days)
    zones = sorted({ZONES[i % len(ZONES)] for i in range(members)})
    report = SimulationReport(
        members=members, days=days, seed=seed, start=start.isoformat(), timezones=zones
    )
    try:
        people = [f"sim{i:05d}" for i in range(members)]
        events = _event_ids()
        await app.service.handle(
            _command(
                next(events),
                people[0],
                "drillbot channel daily",
                channel=True,
                admin=True,
                args={
                    "time": None,
                    "timezone": "Europe/Berlin",
                    "days": (0, 1, 2, 3, 4),
                    "track": None,
                    "level": None,
                },
            )
        )
        for index, person in enumerate(people):
            command = app.service.catalog.get("drillbot subscribe")
            args = command.parse(
                [
                    rng.choice(TIMES),
                    ZONES[index % len(ZONES)],
                    rng.choice(DAY_CHOICES),
                    f"quickfire={rng.randint(1, 3)}",
                    f"screening={rng.randint(0, 1)}",
                ]
            )
            await app.service.handle(
                _command(next(events), person, "drillbot subscribe", args=args)
            )
        seen = 0
        grades: Counter[str] = Counter()
        while True:
            due = await app.dispatcher.next_due()
            if due is None or due >= end:
                break
            clock.set(max(clock.now(), due))
            await app.dispatcher.tick()
            report.ticks += 1
            new = port.deliveries[seen:]
            seen = len(port.deliveries)
            for delivery in new:
                if not isinstance(delivery.message, CARDS) or delivery.action == "reply":
                    continue
                graders = (
                    [delivery.user_ref or _owner(delivery.channel_ref)]
                    if delivery.channel_ref != CHANNEL
                    else rng.sample(people, k=min(3, len(people)))
                )
                conversation = Conversation(
                    channel_ref=delivery.channel_ref, is_dm=delivery.channel_ref != CHANNEL
                )
                for person in graders:
                    # A review digest is graded with each review's buttons; a card with a
                    # reaction.
                    items = (
                        delivery.message.items
                        if isinstance(delivery.message, ReviewDigest)
                        else (None,)
                    )
                    for item in items:
                        if rng.random() < 0.15:
                            report.cards_skipped += 1
                            continue
                        grade = _grade(rng)
                        grades[grade.value] += 1
                        await app.service.handle(
                            ReactionAdded(
                                event_id=next(events),
                                actor=_actor(person),
                                conversation=conversation,
                                message_ref=delivery.message_ref,
                                grade=grade,
                            )
                            if item is None
                            else ButtonPressed(
                                event_id=next(events),
                                actor=_actor(person),
                                conversation=conversation,
                                message_ref=delivery.message_ref,
                                post_id=item.post_id,
                                action="grade",
                                grade=grade,
                            )
                        )
            seen = len(port.deliveries)
            drilled = {
                d.user_ref or _owner(d.channel_ref)
                for d in new
                if isinstance(d.message, CARDS) and d.channel_ref != CHANNEL
            }
            for person in sorted(drilled):
                await self_study(app, port, rng, person, events, grades, report)
            seen = len(port.deliveries)
        clock.set(end)
        await app.dispatcher.tick()
        report.grades = dict(sorted(grades.items()))
        await _check(app, port, report, start=start, end=end)
    finally:
        await app.close()
    return report


async def self_study(
    app,
    port: FakeChatPort,
    rng: random.Random,
    person: str,
    events,
    grades: Counter,
    report: SimulationReport,
) -> None:
    """After a daily drill, some members play a mock round or a quick-fire round."""
    roll = rng.random()
    if roll < 0.12:
        kind, args = "mock", {"track": None, "company": None}
    elif roll < 0.18:
        kind, args = "quickfire", {"n": rng.choice((5, 10, 20)), "track": None}
    else:
        return
    before = len(port.deliveries)
    await app.service.handle(_command(next(events), person, kind, args=args))
    cards = [d for d in port.deliveries[before:] if isinstance(d.message, QuestionCard)]
    if not cards:
        return  # e.g. a round is still running
    if kind == "mock":
        report.mock_rounds_started += 1
    outcome = rng.random()
    if kind == "mock" and outcome < 0.15:
        await app.service.handle(_command(next(events), person, "mock abandon", args={}))
        return
    to_grade = len(cards) if kind == "quickfire" or outcome < 0.75 else 2
    if kind == "quickfire":
        to_grade = args["n"]
    graded = 0
    while cards and graded < to_grade:
        card = cards.pop(0)
        grade = _grade(rng)
        grades[grade.value] += 1
        mark = len(port.deliveries)
        await app.service.handle(
            ReactionAdded(
                event_id=next(events),
                actor=_actor(person),
                conversation=Conversation(channel_ref=card.channel_ref, is_dm=True),
                message_ref=card.message_ref,
                grade=grade,
            )
        )
        graded += 1
        cards += [d for d in port.deliveries[mark:] if isinstance(d.message, QuestionCard)]


def scheduled_days(
    schedule: LocalSchedule, *, subscribed_at: datetime, start: datetime, end: datetime
) -> list[date]:
    """The local days whose run falls after the subscription and no later than `end`:
    the simulation's last tick runs at `end` itself, so a run due at that instant is
    sent and counts."""
    first = start.astimezone(schedule.zone).date()
    days = []
    for offset in range((end - start).days + 2):
        day = first + timedelta(days=offset)
        if day.weekday() not in schedule.days:
            continue
        if subscribed_at < resolve_local(day, schedule.local_time, schedule.zone) <= end:
            days.append(day)
    return days


async def _check(
    app, port: FakeChatPort, report: SimulationReport, *, start: datetime, end: datetime
) -> None:
    sends = Counter(
        d.message.post_id
        for d in port.deliveries
        if isinstance(d.message, CARDS) and d.action in ("dm", "post")
    )
    report.duplicates = sum(count - 1 for count in sends.values() if count > 1)
    report.posts_sent = sum(sends.values())
    async with transaction(app.sessions) as session:
        posts = list(await session.scalars(select(Post).where(Post.status == "sent")))
        subscriptions = (
            await session.execute(
                select(Subscription, Member).join(Member, Member.id == Subscription.member_id)
            )
        ).all()
    actual = {(p.member_id, p.key.split(":")[2]) for p in posts if p.kind == "dm"}
    report.coverage = await _coverage(app, posts, [s for s, _ in subscriptions])
    report.dm_drills = len(actual)
    report.channel_questions = sum(1 for p in posts if p.kind == "channel")
    expected = {
        (member.id, day.isoformat())
        for subscription, member in subscriptions
        for day in scheduled_days(
            subscription_schedule(subscription),
            subscribed_at=subscription.created_at,
            start=start,
            end=end,
        )
    }
    report.scheduled_runs = len(expected)
    report.missed = len(expected - actual)
    report.unexpected = len(actual - expected)
    async with transaction(app.sessions) as session:
        rounds = Counter(
            (kind, status)
            for kind, status in (await session.execute(select(Round.kind, Round.status))).all()
        )
        team = await session.scalar(select(Team).where(Team.external_id == TEAM))
        week = shift_week(week_label(end, team.timezone), -1)
        board = await leaderboard(session, team_id=team.id, week=week, timezone=team.timezone)
    report.mock_rounds_completed = rounds[("mock", "completed")]
    report.mock_rounds_expired = rounds[("mock", "expired")]
    report.mock_rounds_abandoned = rounds[("mock", "abandoned")]
    report.quickfire_rounds_completed = rounds[("quickfire", "completed")]
    report.leaderboard = {
        "week": week,
        "top": [
            {
                "rank": s.rank,
                "member": s.display_name,
                "completed": s.completed,
                "streak_weeks": s.streak_weeks,
            }
            for s in board.standings[:10]
        ],
    }


async def _coverage(app, posts: list[Post], subscriptions: list[Subscription]) -> dict:
    """How much of their tracks each member's daily drills have covered."""
    questions: dict[int, set[str]] = {}
    for post in posts:
        if post.kind == "dm" and post.question_id is not None:
            questions.setdefault(post.member_id, set()).add(post.question_id)
    async with transaction(app.sessions) as session:
        pool = (await BankView().load(session)).pool
    seen = [len(questions.get(s.member_id, ())) for s in subscriptions]
    available = [
        len(pool.eligible(Filters(tracks=tuple(s.tracks or ())))[0]) for s in subscriptions
    ]
    if not seen:
        return {"seen_mean": 0.0, "seen_min": 0, "seen_max": 0, "available": 0}
    return {
        "seen_mean": round(sum(seen) / len(seen), 1),
        "seen_min": min(seen),
        "seen_max": max(seen),
        "available": max(available),
    }


def _grade(rng: random.Random) -> Grade:
    return rng.choices([g for g, _ in GRADE_WEIGHTS], [w for _, w in GRADE_WEIGHTS])[0]


def _owner(channel_ref: str) -> str:
    return channel_ref.removeprefix("D-")


def _actor(person: str, *, admin: bool = False) -> Actor:
    return Actor(
        platform=PLATFORM, team_ref=TEAM, user_ref=person, display_name=person, is_admin=admin
    )


def _command(
    event_id: str, person: str, name: str, *, args: dict, channel: bool = False, admin: bool = False
) -> CommandInvoked:
    conversation = Conversation(
        channel_ref=CHANNEL if channel else f"D-{person}", is_dm=not channel
    )
    return CommandInvoked(
        event_id=event_id,
        actor=_actor(person, admin=admin),
        conversation=conversation,
        command=name,
        args=args,
    )


def _event_ids():
    counter = 0
    while True:
        counter += 1
        yield f"sim-{counter}"
