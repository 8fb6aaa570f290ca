"""`drillbot plan`: who gets what, and when, on a given date, without sending anything."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.dispatch import BankView, DayWindow, Planner, channel_schedule, subscription_schedule
from bot.domain.schedule import resolve_local
from bot.storage.database import transaction
from bot.storage.models import Channel, Member, Subscription
from bot.storage.models import Question as QuestionRow


@dataclass(frozen=True)
class PlanRow:
    kind: str  # "dm" or "channel"
    target: str
    local_time: str
    utc_time: str
    questions: list[str]
    levels: list[str]


async def plan_day(service, *, day: date, member_ref: str | None = None) -> list[PlanRow]:
    rows: list[PlanRow] = []
    async with transaction(service.sessions) as session:
        query = (
            select(Subscription, Member)
            .join(Member, Member.id == Subscription.member_id)
            .where(Subscription.active)
            .order_by(Member.external_id)
        )
        if member_ref is not None:
            query = query.where(Member.external_id == member_ref)
        pairs = (await session.execute(query)).all()
        levels = dict((await session.execute(select(QuestionRow.id, QuestionRow.level))).all())
        pool = (await BankView().load(session)).pool
        for start in range(0, len(pairs), 500):
            batch = pairs[start : start + 500]
            earliest = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo("UTC"))
            planner = await Planner.load(
                session,
                service=service,
                member_ids=[m.id for _, m in batch],
                now=earliest - timedelta(days=1),
                pool=pool,
            )
            for subscription, member in batch:
                schedule = subscription_schedule(subscription)
                if day.weekday() not in schedule.days:
                    continue
                paused = subscription.paused_until
                if paused is not None and day < paused:
                    continue
                run_at = resolve_local(day, schedule.local_time, schedule.zone)
                cards = planner.plan_member(
                    subscription, window=DayWindow.of(run_at, subscription.timezone), now=run_at
                )
                rows.append(
                    _row(
                        "dm",
                        member.display_name or member.external_id,
                        run_at,
                        subscription.timezone,
                        [c.question_id for c in cards],
                        levels,
                    )
                )
        if member_ref is None:
            for channel in await session.scalars(select(Channel).where(Channel.daily_enabled)):
                schedule = channel_schedule(channel)
                if day.weekday() in schedule.days:
                    run_at = resolve_local(day, schedule.local_time, schedule.zone)
                    rows.append(
                        _row("channel", channel.channel_ref, run_at, channel.timezone, [], levels)
                    )
    return sorted(rows, key=lambda row: row.utc_time)


def _row(
    kind: str,
    target: str,
    run_at: datetime,
    timezone: str,
    questions: list[str],
    levels: dict[str, str],
) -> PlanRow:
    local = run_at.astimezone(ZoneInfo(timezone))
    return PlanRow(
        kind=kind,
        target=target,
        local_time=f"{local:%Y-%m-%d %H:%M} {timezone}",
        utc_time=f"{run_at:%Y-%m-%d %H:%M}Z",
        questions=questions,
        levels=[levels.get(q, "?") for q in questions],
    )


def plan_as_dicts(rows: list[PlanRow]) -> list[dict]:
    return [asdict(row) for row in rows]
