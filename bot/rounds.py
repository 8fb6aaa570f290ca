"""Mock interviews and quick-fire rounds.

A mock round is five mixed questions sent at once with a 45-minute window; it counts as
completed when every card is graded inside the window. Grades after the window still
feed FSRS, but the round is expired. A quick-fire round sends one card at a time; each
grade brings the next card. The tick reminds once at 30 minutes and closes rounds
whose time is up.
"""

from __future__ import annotations

import logging
import random
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.grades import Grade
from bot.domain.weeks import shift_week, week_label
from bot.events import CommandInvoked
from bot.messages import Text, time_budget_label
from bot.storage.database import transaction
from bot.storage.models import Grade as GradeRow
from bot.storage.models import Member, Post, Question, Round, RoundWeek, Team
from bot.storage.repository import insert_post, queue_notice

logger = logging.getLogger(__name__)

MOCK_SLOTS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("screening",), 2),
    (("deep-dive",), 2),
    (("staff", "system-design", "scenario"), 1),
)
MOCK_WINDOW = timedelta(minutes=45)
MOCK_REMINDER_AFTER = timedelta(minutes=30)
# One rule, said the same in /help, the round's intro and every card: 30 s a card, so
# the round has 30 s for each of its cards; a warning comes a minute before the end.
QUICKFIRE_SECONDS_PER_CARD = 30
QUICKFIRE_WARNING = timedelta(minutes=1)
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class RoundSettings:
    mock_slots: tuple[tuple[tuple[str, ...], int], ...] = MOCK_SLOTS
    mock_window: timedelta = MOCK_WINDOW
    reminder_after: timedelta = MOCK_REMINDER_AFTER


async def active_round(session: AsyncSession, member_id: int, now: datetime) -> Round | None:
    return await session.scalar(
        select(Round)
        .where(Round.member_id == member_id, Round.status == "active", Round.deadline > now)
        .order_by(Round.id.desc())
        .limit(1)
    )


async def weak_topics(session: AsyncSession, member_id: int) -> list[tuple[str, float, str]]:
    """(tag, mean grade, a study pointer) for the member's tags, weakest first."""
    rows = await session.execute(
        select(GradeRow.grade, Question.data)
        .join(Question, Question.id == GradeRow.question_id)
        .where(GradeRow.member_id == member_id)
    )
    scores: dict[str, list[float]] = defaultdict(list)
    pointers: dict[str, str] = {}
    for grade, data in rows:
        for tag in data.get("tags") or ():
            scores[tag].append(Grade(grade).score)
            if Grade(grade) is not Grade.STRONG and data.get("study"):
                pointers.setdefault(tag, data["study"])
    ranked = sorted(
        ((tag, sum(v) / len(v), pointers.get(tag, "")) for tag, v in scores.items()),
        key=lambda item: (item[1], -len(scores[item[0]]), item[0]),
    )
    return [item for item in ranked if item[1] < 1.0]


async def _recently_shown(session: AsyncSession, member_id: int, now: datetime) -> set[str]:
    return set(
        await session.scalars(
            select(Post.question_id).where(
                Post.member_id == member_id,
                Post.question_id.is_not(None),
                Post.created_at >= now - RECENT,
            )
        )
    )


def _choose(
    questions: list[Question], *, count: int, weak: dict[str, int], avoid: set[str], seed: str
) -> list[Question]:
    """Weak-topic questions first (weakest topic first), the rest at random; fresh before recent."""
    rng = random.Random(zlib.crc32(seed.encode()))
    keyed = []
    for question in questions:
        tags = question.data.get("tags") or ()
        weakness = min((weak[tag] for tag in tags if tag in weak), default=len(weak) + 1)
        keyed.append((question.id in avoid, weakness, rng.random(), question))
    keyed.sort(key=lambda item: item[:3])
    return [item[3] for item in keyed[:count]]


async def start_mock(service, event: CommandInvoked, who, session: AsyncSession):
    now = service.clock.now()
    current = await active_round(session, who.member_id, now)
    if current is not None:
        return service.reply_later(event, Text(text=_already_running(current, now)))
    track, company = event.args.get("track"), event.args.get("company")
    weak = {
        tag: index for index, (tag, _, _) in enumerate(await weak_topics(session, who.member_id))
    }
    avoid = await _recently_shown(session, who.member_id, now)
    pool = list(await session.scalars(select(Question).where(Question.active.is_(True))))
    picked: list[Question] = []
    from_company = 0
    for levels, count in service.round_settings.mock_slots:
        fitting = [
            q
            for q in pool
            if q.level in levels and (not track or q.track == track) and q not in picked
        ]
        if company:
            at_company = [q for q in fitting if company.lower() in (q.data.get("companies") or ())]
            chosen = _choose(
                at_company, count=count, weak=weak, avoid=avoid, seed=f"{event.event_id}:{levels}"
            )
            fitting = [q for q in fitting if q not in chosen]
            from_company += len(chosen)
        else:
            chosen = []
        chosen += _choose(
            fitting,
            count=count - len(chosen),
            weak=weak,
            avoid=avoid,
            seed=f"{event.event_id}:{levels}:any",
        )
        picked.extend(chosen)
    if not picked:
        return service.reply_later(
            event,
            Text(text="No questions fit that mock round; try /mock without a track or company."),
        )
    window = service.round_settings.mock_window
    round_ = Round(
        member_id=who.member_id,
        team_id=who.team_id,
        kind="mock",
        status="active",
        question_ids=[q.id for q in picked],
        track=track,
        company=company,
        started_at=now,
        deadline=now + window,
    )
    session.add(round_)
    await session.flush()
    post_ids = []
    for position, question in enumerate(picked, start=1):
        post, _ = await insert_post(
            session,
            Post(
                key=f"mock:{round_.id}:{position}",
                kind="mock",
                platform=who.actor.platform,
                team_id=who.team_id,
                member_id=who.member_id,
                channel_ref=None,
                question_id=question.id,
                position=position,
                round_id=round_.id,
                heading=f"Mock {position}/{len(picked)} · {budget_label(question)}",
                status="pending",
                not_before=now,
                created_at=now,
            ),
        )
        post_ids.append(post.id)
    deadline_local = round_.deadline.astimezone(who.zone)
    intro = (
        f"*Mock interview: {len(picked)} questions, {int(window.total_seconds() // 60)} "
        f"minutes* (until {deadline_local:%H:%M} {deadline_local.tzname()}). Answer each "
        "out loud within its time budget, open the model answer, then grade yourself. "
        "/mock status shows your progress; /mock abandon ends the round."
    )
    if company and from_company == 0:
        where = f" in {track}" if track else ""
        intro = (
            f"No questions{where} are tagged with {company}, so this round is drawn from "
            f"the whole bank{where}.\n" + intro
        )
    elif company:
        intro = (
            f"{from_company} of the {len(picked)} questions are tagged with {company}.\n" + intro
        )
    return _start_sender(service, event, intro, post_ids)


async def start_quickfire(service, event: CommandInvoked, who, session: AsyncSession):
    now = service.clock.now()
    current = await active_round(session, who.member_id, now)
    if current is not None:
        return service.reply_later(event, Text(text=_already_running(current, now)))
    count, track = event.args.get("n") or 20, event.args.get("track")
    avoid = await _recently_shown(session, who.member_id, now)
    pool = list(
        await session.scalars(
            select(Question).where(Question.active.is_(True), Question.level == "quickfire")
        )
    )
    pool = [q for q in pool if not track or q.track == track]
    weak = {
        tag: index for index, (tag, _, _) in enumerate(await weak_topics(session, who.member_id))
    }
    picked = _choose(pool, count=count, weak=weak, avoid=avoid, seed=f"{event.event_id}:qf")
    if not picked:
        return service.reply_later(
            event, Text(text="No quick-fire questions fit; try another track.")
        )
    budget = timedelta(seconds=QUICKFIRE_SECONDS_PER_CARD * len(picked))
    round_ = Round(
        member_id=who.member_id,
        team_id=who.team_id,
        kind="quickfire",
        status="active",
        question_ids=[q.id for q in picked],
        track=track,
        started_at=now,
        deadline=now + budget,
    )
    session.add(round_)
    await session.flush()
    post = await _quickfire_card(session, round_, who.actor.platform, position=1, now=now)
    intro = (
        f"*Quick-fire: {len(picked)} questions, {QUICKFIRE_SECONDS_PER_CARD} s a card, "
        f"{_duration(budget)} in all.* Answer fast, grade, and the next card comes; a "
        "warning comes a minute before the end."
    )
    return _start_sender(service, event, intro, [post.id])


async def _quickfire_card(
    session: AsyncSession, round_: Round, platform: str, *, position: int, now: datetime
) -> Post:
    total = len(round_.question_ids)
    post, _ = await insert_post(
        session,
        Post(
            key=f"quickfire:{round_.id}:{position}",
            kind="quickfire",
            platform=platform,
            team_id=round_.team_id,
            member_id=round_.member_id,
            channel_ref=None,
            question_id=round_.question_ids[position - 1],
            position=position,
            round_id=round_.id,
            heading=f"Quick-fire {position}/{total} · {QUICKFIRE_SECONDS_PER_CARD} s",
            status="pending",
            not_before=now,
            created_at=now,
        ),
    )
    return post


def budget_label(question: Question) -> str:
    return time_budget_label(question.time_limit_s)


def _start_sender(service, event: CommandInvoked, intro: str, post_ids: list[int]):
    async def send() -> None:
        if event.conversation.is_dm:
            await service.reply(event, Text(text=intro))
        else:
            await service.reply(event, Text(text="Started in your DM."))
            await service.send_text_dm(event.actor, Text(text=intro))
        await service.outbox.deliver_many(post_ids)

    return send


def _already_running(current: Round, now: datetime) -> str:
    left = _duration(current.deadline - now)
    return (
        f"You already have a {_kind(current)} running ({left} left). Finish it, or end it "
        "with /mock abandon, before starting another."
    )


def _kind(round_: Round) -> str:
    return "mock round" if round_.kind == "mock" else "quick-fire round"


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    if minutes and seconds:
        return f"{minutes} min {seconds} s"
    return f"{minutes} min" if minutes else f"{seconds} s"


async def status(service, event: CommandInvoked, who, session: AsyncSession):
    now = service.clock.now()
    current = await active_round(session, who.member_id, now)
    if current is None:
        return service.reply_later(
            event, Text(text="No round running. Start one with /mock or /quickfire.")
        )
    graded = await _graded_count(session, current)
    total = len(current.question_ids)
    return service.reply_later(
        event,
        Text(
            text=f"{_kind(current).capitalize()}: {graded}/{total} graded, "
            f"{_duration(current.deadline - now)} left."
        ),
    )


async def abandon(service, event: CommandInvoked, who, session: AsyncSession):
    now = service.clock.now()
    current = await active_round(session, who.member_id, now)
    if current is None:
        return service.reply_later(event, Text(text="No round running; nothing to abandon."))
    current.status = "abandoned"
    current.finished_at = now
    return service.reply_later(
        event, Text(text=f"{_kind(current).capitalize()} abandoned. Your grades so far are kept.")
    )


async def _graded_count(session: AsyncSession, round_: Round) -> int:
    return (
        await session.scalar(
            select(func.count(GradeRow.id))
            .join(Post, Post.id == GradeRow.post_id)
            .where(Post.round_id == round_.id, GradeRow.member_id == round_.member_id)
        )
        or 0
    )


async def after_grade(service, session: AsyncSession, *, post: Post, member_id: int):
    """A card of a round was graded: next quick-fire card, or the round is done."""
    if post.round_id is None or post.member_id != member_id:
        return None
    round_ = await session.get(Round, post.round_id)
    if round_ is None or round_.status != "active":
        return None
    now = service.clock.now()
    total = len(round_.question_ids)
    graded = await _graded_count(session, round_)
    if now > round_.deadline:
        return _deliver(
            service, await _close(service, session, round_, status="expired", at=round_.deadline)
        )
    if graded < total:
        if round_.kind == "quickfire" and post.position < total:
            next_post = await _quickfire_card(
                session, round_, post.platform, position=post.position + 1, now=now
            )

            async def send_next() -> None:
                await service.outbox.deliver(next_post.id)

            return send_next
        return None
    return _deliver(service, await _close(service, session, round_, status="completed", at=now))


def _deliver(service, post_id: int):
    async def send() -> None:
        await service.outbox.deliver(post_id)

    return send


async def _close(
    service, session: AsyncSession, round_: Round, *, status: str, at: datetime
) -> int:
    """Finish a round and queue its summary through the outbox (sent once, by key)."""
    round_.status = status
    round_.finished_at = at
    if status == "completed" and round_.kind == "mock":
        team = await session.get(Team, round_.team_id)
        await _count_week(session, round_, week_label(at, team.timezone if team else "UTC"))
    summary = await _summary(session, round_)
    member = await session.get(Member, round_.member_id)
    post = await queue_notice(
        session,
        key=f"{round_.kind}-end:{round_.id}",
        platform=member.platform,
        team_id=round_.team_id,
        member_id=round_.member_id,
        text=summary,
        now=service.clock.now(),
    )
    service.note_round_closed(round_.status)
    return post.id


async def _count_week(session: AsyncSession, round_: Round, week: str) -> None:
    """Count a completed mock round in its week, and carry the weekly streak forward."""
    row = await session.get(RoundWeek, (round_.member_id, week))
    if row is None:
        before = await session.get(RoundWeek, (round_.member_id, shift_week(week, -1)))
        streak = (before.streak + 1) if before is not None and before.completed else 1
        try:
            async with session.begin_nested():
                session.add(
                    RoundWeek(
                        member_id=round_.member_id,
                        week=week,
                        team_id=round_.team_id,
                        completed=1,
                        streak=streak,
                    )
                )
                await session.flush()
                return
        except IntegrityError:
            row = await session.get(RoundWeek, (round_.member_id, week))
    row.completed += 1


async def _summary(session: AsyncSession, round_: Round) -> str:
    rows = (
        await session.execute(
            select(Post.position, Question.id, Question.level, Question.data, GradeRow.grade)
            .join(Question, Question.id == Post.question_id)
            .outerjoin(
                GradeRow, (GradeRow.post_id == Post.id) & (GradeRow.member_id == round_.member_id)
            )
            .where(Post.round_id == round_.id)
            .order_by(Post.position)
        )
    ).all()
    used = (round_.finished_at or round_.deadline) - round_.started_at
    budget = round_.deadline - round_.started_at
    finished = {"completed": "complete", "expired": "over: time is up", "abandoned": "abandoned"}[
        round_.status
    ]
    lines = [
        f"*{_kind(round_).capitalize()} {finished}*: {len([r for r in rows if r.grade])}/"
        f"{len(round_.question_ids)} graded in {_duration(used)} of {_duration(budget)}."
    ]
    counts = {grade: sum(1 for r in rows if r.grade == grade.value) for grade in Grade}
    lines.append(" · ".join(f"{grade.emoji} {counts[grade]}" for grade in Grade))
    if round_.kind == "mock":
        for row in rows:
            mark = Grade(row.grade).emoji if row.grade else "⚪"
            prompt = " ".join(row.data["prompt"].split())
            lines.append(f"- {mark} {row.level}: {prompt[:80]}{'…' if len(prompt) > 80 else ''}")
    study = []
    for row in rows:
        pointer = row.data.get("study")
        if pointer and row.grade != Grade.STRONG.value and pointer not in study:
            study.append(pointer)
    if study:
        lines.append("Study next: " + "; ".join(study[:3]) + ".")
    return "\n".join(lines)


async def maintain(service) -> int:
    """Remind once: a mock round at 30 minutes, a quick-fire round a minute before its
    end; close rounds whose time is up. Returns rounds closed."""
    closed = 0
    async with transaction(service.sessions) as session:
        now = service.clock.now()
        query = select(Round).where(Round.status == "active", Round.deadline <= now).limit(500)
        if service.postgres:
            query = query.with_for_update(skip_locked=True)
        for round_ in await session.scalars(query):
            await _close(service, session, round_, status="expired", at=round_.deadline)
            closed += 1
        query = (
            select(Round)
            .where(
                Round.status == "active",
                Round.reminded_at.is_(None),
                or_(
                    and_(
                        Round.kind == "mock",
                        Round.started_at <= now - service.round_settings.reminder_after,
                    ),
                    and_(Round.kind == "quickfire", Round.deadline <= now + QUICKFIRE_WARNING),
                ),
            )
            .limit(500)
        )
        if service.postgres:
            query = query.with_for_update(skip_locked=True)
        for round_ in await session.scalars(query):
            round_.reminded_at = now
            graded = await _graded_count(session, round_)
            left = len(round_.question_ids) - graded
            if left <= 0:
                continue
            member = await session.get(Member, round_.member_id)
            await queue_notice(
                session,
                key=f"{round_.kind}-reminder:{round_.id}",
                platform=member.platform,
                team_id=round_.team_id,
                member_id=round_.member_id,
                now=now,
                text=(
                    f"⏰ {_duration(round_.deadline - now)} left in your {_kind(round_)}: "
                    f"{left} question{'s' if left != 1 else ''} still ungraded."
                ),
            )
    return closed


async def count_active(sessions) -> int:
    """Mock and quick-fire rounds in progress, across every instance."""
    async with transaction(sessions) as session:
        active = await session.scalar(
            select(func.count()).select_from(Round).where(Round.status == "active")
        )
    return active or 0


HANDLERS = {
    "mock": start_mock,
    "mock status": status,
    "mock abandon": abandon,
    "quickfire": start_quickfire,
}
