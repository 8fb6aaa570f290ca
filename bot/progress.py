"""The weekly leaderboard, personal stats, and a member's control over their own data."""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.charts import leaderboard_chart, progress_chart
from bot.domain.grades import Grade
from bot.domain.leaderboard import Standing, rank
from bot.domain.weeks import resolve_week, shift_week, week_bounds, week_label
from bot.events import CommandInvoked
from bot.inbound import journal
from bot.messages import Image, LeaderboardRow, LeaderboardView, Text
from bot.srs import Srs
from bot.storage.models import Grade as GradeRow
from bot.storage.models import Member, Post, Question, Round, RoundWeek, SrsCard, Subscription, Team

logger = logging.getLogger(__name__)

SCORE = case((GradeRow.grade == "strong", 1.0), (GradeRow.grade == "lean", 0.5), else_=0.0)


@dataclass(frozen=True)
class Board:
    team_id: int
    week: str
    standings: list[Standing]

    def view(self, team_name: str) -> LeaderboardView:
        return LeaderboardView(
            title=f"Mock rounds completed · {team_name} · week {self.week}",
            rows=tuple(
                LeaderboardRow(
                    rank=s.rank,
                    display_name=s.display_name,
                    completed=s.completed,
                    streak_weeks=s.streak_weeks,
                    mean_grade=s.mean_grade,
                )
                for s in self.standings
            ),
        )

    def chart(self) -> Image:
        png = leaderboard_chart(
            title=f"Mock rounds completed, week {self.week}",
            names=[s.display_name for s in self.standings],
            completed=[s.completed for s in self.standings],
        )
        return Image(
            png=png,
            filename=f"leaderboard-{self.week}.png",
            title=f"Leaderboard chart, week {self.week}",
        )


async def leaderboard(session: AsyncSession, *, team_id: int, week: str, timezone: str) -> Board:
    """Rank members by mock rounds completed in `week` (the team's local ISO week).

    Two indexed reads: the week's counts and streaks (kept in round_weeks as rounds
    complete) with the members' names, and the same members' mean grade that week.
    """
    this_week = (
        (RoundWeek.team_id == team_id) & (RoundWeek.week == week) & (RoundWeek.completed > 0)
    )
    rows = (
        await session.execute(
            select(
                RoundWeek.member_id,
                RoundWeek.completed,
                RoundWeek.streak,
                Member.display_name,
                Member.external_id,
                Member.leaderboard_opt_out,
            )
            .join(Member, Member.id == RoundWeek.member_id)
            .where(this_week)
        )
    ).all()
    if not rows:
        return Board(team_id=team_id, week=week, standings=[])
    start, end = week_bounds(week, timezone)
    means = {
        member: float(mean)
        for member, mean in (
            await session.execute(
                select(GradeRow.member_id, func.avg(SCORE))
                .join(RoundWeek, RoundWeek.member_id == GradeRow.member_id)
                .where(this_week, GradeRow.graded_at >= start, GradeRow.graded_at < end)
                .group_by(GradeRow.member_id)
            )
        ).all()
    }
    standings = rank(
        completed={row.member_id: row.completed for row in rows},
        names={row.member_id: row.display_name or row.external_id for row in rows},
        streaks={row.member_id: row.streak for row in rows},
        means=means,
        hidden={row.member_id for row in rows if row.leaderboard_opt_out},
    )
    return Board(team_id=team_id, week=week, standings=standings)


HIDDEN_TEXT = "You are hidden from the weekly leaderboard. Show yourself: /drillbot leaderboard on"


async def show_leaderboard(service, event: CommandInvoked, who, session: AsyncSession):
    team = await session.get(Team, who.team_id)
    week = resolve_week(
        event.args.get("week") or "this", now=service.clock.now(), timezone=team.timezone
    )
    board = await leaderboard(session, team_id=team.id, week=week, timezone=team.timezone)
    view, image = board.view(team.name), board.chart()
    member = await session.get(Member, who.member_id)
    hidden = member is not None and member.leaderboard_opt_out

    async def send() -> None:
        await service.reply(event, view)
        if board.standings:
            port = service.ports[event.actor.platform]
            await port.upload_image(channel_ref=event.conversation.channel_ref, image=image)
        if hidden:
            await service.reply(event, Text(text=HIDDEN_TEXT))

    return send


async def set_visibility(service, event: CommandInvoked, who, session: AsyncSession):
    """`on` or `off`; with neither, what the setting is and how to change it."""
    member = await session.get(Member, who.member_id)
    visible = event.args.get("visible")
    if visible is not None:
        member.leaderboard_opt_out = visible == "off"
    if member.leaderboard_opt_out:
        text = HIDDEN_TEXT
    else:
        text = "You are on the weekly leaderboard. Hide yourself: /drillbot leaderboard off"
    return service.reply_later(event, Text(text=text))


# ---- personal stats -----------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    streak_days: int
    seen: int
    by_track: dict[str, Counter]
    by_topic: dict[str, Counter]
    due_today: int
    due_week: int
    mean_recall: float | None
    weakest: list[tuple[str, float, str]]
    weeks: list[str]
    weekly_grades: dict[str, list[int]]
    weekly_rounds: list[int]


async def collect_stats(
    session: AsyncSession, *, member_id: int, timezone: str, now: datetime, srs: Srs
) -> Stats:
    from bot.rounds import weak_topics

    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    graded = (
        await session.execute(
            select(GradeRow.grade, GradeRow.graded_at, Question.track, Question.data)
            .join(Question, Question.id == GradeRow.question_id)
            .where(GradeRow.member_id == member_id)
        )
    ).all()
    days = {row.graded_at.astimezone(zone).date() for row in graded}
    streak_days = 0
    day = today if today in days else today - timedelta(days=1)
    while day in days:
        streak_days += 1
        day -= timedelta(days=1)
    by_track: dict[str, Counter] = defaultdict(Counter)
    by_topic: dict[str, Counter] = defaultdict(Counter)
    for row in graded:
        by_track[row.track][row.grade] += 1
        for tag in row.data.get("tags") or ():
            by_topic[tag][row.grade] += 1
    seen = (
        await session.scalar(
            select(func.count(func.distinct(Post.question_id))).where(
                Post.member_id == member_id, Post.question_id.is_not(None), Post.status == "sent"
            )
        )
        or 0
    )
    end_today = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)
    end_week = datetime.combine(today + timedelta(days=7 - today.weekday()), time(), tzinfo=zone)
    cards = list(
        await session.scalars(
            select(SrsCard).where(SrsCard.member_id == member_id, SrsCard.reviews > 0)
        )
    )
    due_today = sum(1 for card in cards if card.due < end_today)
    due_week = sum(1 for card in cards if card.due < end_week)
    recalls = [srs.retrievability(card.card, at=now) for card in cards]
    mean_recall = sum(recalls) / len(recalls) if recalls else None
    current = week_label(now, timezone)
    weeks = [shift_week(current, -offset) for offset in range(7, -1, -1)]
    weekly = {grade.value: [0] * 8 for grade in Grade}
    for row in graded:
        label = week_label(row.graded_at, timezone)
        if label in weeks:
            weekly[row.grade][weeks.index(label)] += 1
    rounds_by_week = dict(
        (
            await session.execute(
                select(RoundWeek.week, RoundWeek.completed).where(
                    RoundWeek.member_id == member_id, RoundWeek.week.in_(weeks)
                )
            )
        ).all()
    )
    return Stats(
        streak_days=streak_days,
        seen=seen,
        by_track=dict(by_track),
        by_topic=dict(by_topic),
        due_today=due_today,
        due_week=due_week,
        mean_recall=mean_recall,
        weakest=(await weak_topics(session, member_id))[:3],
        weeks=weeks,
        weekly_grades=weekly,
        weekly_rounds=[rounds_by_week.get(w, 0) for w in weeks],
    )


def stats_text(stats: Stats) -> str:
    def counts(counter: Counter) -> str:
        return " ".join(f"{grade.emoji}{counter.get(grade.value, 0)}" for grade in Grade)

    lines = ["*Your drillbot stats*"]
    lines.append(f"- Daily streak: {stats.streak_days} day{'s' if stats.streak_days != 1 else ''}")
    lines.append(f"- Questions seen: {stats.seen}")
    lines.append(f"- Reviews due today: {stats.due_today}; this week: {stats.due_week}")
    if stats.mean_recall is not None:
        lines.append(f"- Mean recall probability (FSRS): {stats.mean_recall:.0%}")
    if stats.by_track:
        lines.append(
            "- By track: "
            + "; ".join(
                f"{track} {counts(counter)}" for track, counter in sorted(stats.by_track.items())
            )
        )
    if stats.by_topic:
        top = sorted(stats.by_topic.items(), key=lambda item: -sum(item[1].values()))[:8]
        lines.append("- By topic: " + "; ".join(f"{tag} {counts(c)}" for tag, c in top))
    if stats.weakest:
        lines.append("*Weakest topics*")
        for tag, mean, pointer in stats.weakest:
            suffix = f": study {pointer}" if pointer else ""
            lines.append(f"- {tag} (mean grade {mean:.2f}){suffix}")
    if not stats.by_track:
        lines.append("No grades yet: /drill gets you started.")
    return "\n".join(lines)


async def show_stats(service, event: CommandInvoked, who, session: AsyncSession):
    now = service.clock.now()
    stats = await collect_stats(
        session, member_id=who.member_id, timezone=who.timezone, now=now, srs=service.srs
    )
    lines = [stats_text(stats)]
    subscription = await session.scalar(
        select(Subscription).where(Subscription.member_id == who.member_id)
    )
    if subscription is not None and subscription.active:
        # Imported here: the plan reads through the dispatch, which imports this module.
        from bot.schedule_commands import plan_lines

        lines += await plan_lines(service, session, subscription)
    text = Text(text="\n".join(lines))
    chart = Image(
        png=progress_chart(
            title="Last 8 weeks",
            weeks=stats.weeks,
            grades=stats.weekly_grades,
            rounds=stats.weekly_rounds,
        ),
        filename=f"stats-{who.actor.user_ref}-{now:%Y%m%d}.png",
        title="Your last 8 weeks",
    )

    async def send() -> None:
        port = service.ports[event.actor.platform]
        if event.conversation.is_dm:
            await service.reply(event, text)
            await port.upload_image(channel_ref=event.conversation.channel_ref, image=chart)
            return
        sent = await service.send_text_dm(event.actor, text)
        await port.upload_image(channel_ref=sent.channel_ref, image=chart)
        await service.reply(event, Text(text="Your stats are in your DM."))

    return send


# ---- data ownership -----------------------------------------------------------------


async def export_member(session: AsyncSession, *, member_id: int) -> dict:
    member = await session.get(Member, member_id)
    grades = (
        await session.execute(
            select(
                GradeRow.post_id,
                GradeRow.question_id,
                GradeRow.grade,
                GradeRow.graded_at,
                GradeRow.updated_at,
            )
            .where(GradeRow.member_id == member_id)
            .order_by(GradeRow.graded_at)
        )
    ).all()
    rounds = list(
        await session.scalars(
            select(Round).where(Round.member_id == member_id).order_by(Round.started_at)
        )
    )
    return {
        "member": {
            "id": member.external_id,
            "platform": member.platform,
            "display_name": member.display_name,
            "timezone": member.timezone,
        },
        "grades": [
            {
                "post": g.post_id,
                "question": g.question_id,
                "grade": g.grade,
                "graded_at": g.graded_at.isoformat(),
                "updated_at": g.updated_at.isoformat(),
            }
            for g in grades
        ],
        "rounds": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "questions": r.question_ids,
                "started_at": r.started_at.isoformat(),
                "deadline": r.deadline.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            }
            for r in rounds
        ],
    }


async def forget_member(session: AsyncSession, *, member_id: int) -> None:
    """Delete everything about a member; rows that point at them go with them (CASCADE)."""
    from bot.storage.models import GradeEvent, ReviewLog
    from bot.storage.models import SrsCard as Card

    for model in (GradeEvent, GradeRow, ReviewLog, Card, RoundWeek, Subscription):
        await session.execute(delete(model).where(model.member_id == member_id))
    await session.execute(delete(Post).where(Post.member_id == member_id))
    await session.execute(delete(Round).where(Round.member_id == member_id))
    await session.execute(delete(Member).where(Member.id == member_id))


async def forget_me(service, event: CommandInvoked, who, session: AsyncSession):
    if event.args.get("confirm") != "confirm":
        return service.reply_later(
            event,
            Text(
                text="This deletes all your grades, rounds, review schedule and settings, for "
                "good. To go ahead, run /drillbot forget-me confirm"
            ),
        )
    await forget_member(session, member_id=who.member_id)
    # What the journal kept of their past events goes too (this event is kept by id
    # only; anything they send later is theirs to keep).
    await journal.forget(session, keys=[journal.actor_key(who.actor)], keep_event_id=event.event_id)
    return service.reply_later(
        event, Text(text="Done: everything drillbot knew about you is deleted.")
    )


def export_csv(data: dict) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["record", "id", "question", "grade_or_status", "started_or_graded", "finished_or_updated"]
    )
    for grade in data["grades"]:
        writer.writerow(
            [
                "grade",
                grade["post"],
                grade["question"],
                grade["grade"],
                grade["graded_at"],
                grade["updated_at"],
            ]
        )
    for round_ in data["rounds"]:
        writer.writerow(
            [
                round_["kind"],
                round_["id"],
                " ".join(round_["questions"]),
                round_["status"],
                round_["started_at"],
                round_["finished_at"] or "",
            ]
        )
    return buffer.getvalue()


def export_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def monday_post_time(today: date) -> date:
    return today - timedelta(days=today.weekday())


HANDLERS = {
    "leaderboard": show_leaderboard,
    "stats": show_stats,
    "drillbot leaderboard": set_visibility,
    "drillbot forget-me": forget_me,
}
