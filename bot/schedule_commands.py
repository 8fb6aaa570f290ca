"""Chat commands that change schedules: a member's daily drill and a channel's question.

Every change recomputes `next_run_at` at once, so the tick never works from stale
settings; a run already sent today is not sent again after a change (the dispatcher
checks `last_local_date`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch import (
    Planner,
    channel_schedule,
    next_subscription_run,
    subscription_schedule,
)
from bot.domain.schedule import WEEKDAYS, decode_days, describe_days, encode_days
from bot.domain.selection import Filters
from bot.events import CommandInvoked
from bot.forecast import forecast
from bot.messages import Text
from bot.storage.models import Channel, Member, SrsCard, Subscription

INDEFINITELY = date(9999, 12, 31)


def describe_run(when: datetime | None, timezone: str) -> str:
    if when is None:
        return "none scheduled"
    local = when.astimezone(ZoneInfo(timezone))
    return f"{local:%a %d %b %H:%M} {local.tzname()} ({when:%H:%M} UTC, {when:%Y-%m-%d})"


def describe_subscription(subscription: Subscription | None) -> str:
    if subscription is None or not subscription.active:
        return "Daily drill: off. Start one with /drillbot subscribe [08:30] [timezone] [weekdays]."
    schedule = subscription_schedule(subscription)
    parts = [
        f"{subscription.quickfire_count} quick-fire + {subscription.screening_count} screening"
    ]
    if subscription.tracks:
        parts.append(f"tracks: {', '.join(subscription.tracks)}")
    if subscription.companies:
        parts.append(f"companies: {', '.join(subscription.companies)}")
    review_only = decode_days(subscription.review_only_days or "")
    if review_only:
        parts.append(f"reviews only on {describe_days(review_only)}")
    if subscription.schedule == "fixed":
        parts.append("fixed plan: back on days 3, 7, 14, 21 after first sight")
    lines = [f"*Daily drill*: {schedule.describe()}; {'; '.join(parts)}."]
    if subscription.paused_until == INDEFINITELY:
        lines.append("Paused until you /drillbot resume.")
        return "\n".join(lines)  # no next drill to show: none comes until then
    if subscription.paused_until is not None:
        lines.append(f"Paused until {subscription.paused_until:%a %d %b %Y}.")
    lines.append(f"Next drill: {describe_run(subscription.next_run_at, subscription.timezone)}.")
    return "\n".join(lines)


def describe_channel(channel: Channel | None) -> str:
    if channel is None or not channel.daily_enabled:
        return "Channel question: off here."
    schedule = channel_schedule(channel)
    filters = []
    if channel.tracks:
        filters.append(f"tracks: {', '.join(channel.tracks)}")
    if channel.levels:
        filters.append(f"levels: {', '.join(channel.levels)}")
    suffix = f" ({'; '.join(filters)})" if filters else ""
    return (
        f"*Channel question*: {schedule.describe()}{suffix}. "
        f"Next: {describe_run(channel.next_run_at, channel.timezone)}."
    )


async def subscription_of(session: AsyncSession, member_id: int) -> Subscription | None:
    return await session.scalar(select(Subscription).where(Subscription.member_id == member_id))


async def subscribe(service, event: CommandInvoked, who, session: AsyncSession):
    now = service.clock.now()
    args = event.args
    defaults = service.settings.schedule
    subscription = await subscription_of(session, who.member_id)
    if subscription is None:
        subscription = Subscription(
            member_id=who.member_id,
            active=True,
            local_time=defaults.default_time,
            timezone=who.timezone,
            days=encode_days(WEEKDAYS),
            quickfire_count=defaults.quickfire,
            screening_count=defaults.screening,
            tracks=[],
            companies=[],
            schedule="fsrs",
            review_only_days="",
            created_at=now,
            updated_at=now,
            runs=0,
            skipped=0,
        )
        session.add(subscription)
    if args.get("time") is not None:
        subscription.local_time = f"{args['time']:%H:%M}"
    zone_changed = False
    if args.get("timezone"):
        subscription.timezone = args["timezone"]
        # The zone every time drillbot shows this member is in (rounds, settings).
        member = await session.get(Member, who.member_id)
        zone_changed = member.timezone != args["timezone"]
        member.timezone = args["timezone"]
    if args.get("days"):
        subscription.days = encode_days(args["days"])
    if args.get("quickfire") is not None:
        subscription.quickfire_count = args["quickfire"]
    if args.get("screening") is not None:
        subscription.screening_count = args["screening"]
    if args.get("tracks"):
        subscription.tracks = list(args["tracks"])
    if args.get("companies"):
        subscription.companies = list(args["companies"])
    if args.get("reviewonly") is not None:
        subscription.review_only_days = encode_days(args["reviewonly"])
    if args.get("schedule"):
        subscription.schedule = args["schedule"]
    if subscription.quickfire_count + subscription.screening_count == 0:
        return service.reply_later(
            event,
            Text(text="A drill needs at least one question: set quickfire= or screening= above 0."),
        )
    subscription.active = True
    subscription.paused_until = None
    subscription.updated_at = now
    subscription.next_run_at = next_subscription_run(subscription, after=now)
    await _clear_unreachable(session, who.member_id)
    await session.flush()
    plan = await plan_lines(service, session, subscription)
    lines = ["Subscribed.", describe_subscription(subscription), *plan]
    if zone_changed:
        lines.append(f"Your timezone is now {args['timezone']}: drillbot shows you times in it.")
    return service.reply_later(event, Text(text="\n".join(lines)))


async def pause(service, event: CommandInvoked, who, session: AsyncSession):
    now = service.clock.now()
    subscription = await subscription_of(session, who.member_id)
    if subscription is None or not subscription.active:
        return service.reply_later(
            event,
            Text(text="You have no daily drill to pause. Start one with /drillbot subscribe."),
        )
    until: date | None = event.args.get("date")
    today = now.astimezone(ZoneInfo(subscription.timezone)).date()
    if until is not None and until <= today:
        return service.reply_later(
            event,
            Text(
                text=f"{until:%Y-%m-%d} is not in the future. "
                "Usage: /drillbot pause until YYYY-MM-DD"
            ),
        )
    subscription.paused_until = until or INDEFINITELY
    subscription.updated_at = now
    subscription.next_run_at = next_subscription_run(subscription, after=now)
    return service.reply_later(event, Text(text="Paused.\n" + describe_subscription(subscription)))


async def resume(service, event: CommandInvoked, who, session: AsyncSession):
    now = service.clock.now()
    subscription = await subscription_of(session, who.member_id)
    if subscription is None or not subscription.active:
        return service.reply_later(
            event, Text(text="You have no daily drill. Start one with /drillbot subscribe.")
        )
    subscription.paused_until = None
    subscription.updated_at = now
    subscription.next_run_at = next_subscription_run(subscription, after=now)
    await _clear_unreachable(session, who.member_id)
    return service.reply_later(event, Text(text="Resumed.\n" + describe_subscription(subscription)))


async def unsubscribe(service, event: CommandInvoked, who, session: AsyncSession):
    subscription = await subscription_of(session, who.member_id)
    if subscription is None or not subscription.active:
        return service.reply_later(event, Text(text="You had no daily drill; nothing changed."))
    subscription.active = False
    subscription.next_run_at = None
    subscription.updated_at = service.clock.now()
    return service.reply_later(
        event,
        Text(
            text="Your daily drill is off. Your grades and review schedule are kept; "
            "/drillbot subscribe brings the drill back."
        ),
    )


async def show_settings(service, event: CommandInvoked, who, session: AsyncSession):
    subscription = await subscription_of(session, who.member_id)
    lines = [describe_subscription(subscription)]
    if subscription is not None and subscription.active:
        lines += await plan_lines(service, session, subscription)
    lines.append(
        f"Your timezone: {who.timezone} (the times drillbot shows you are in it; "
        "/drillbot subscribe with a zone changes it)."
    )
    lines.append(f"Your member id: {who.actor.user_ref} (what an admin's drillbot export asks).")
    if not event.conversation.is_dm:
        lines.append(describe_channel(await _channel(session, who, event, create=False)))
    return service.reply_later(event, Text(text="\n".join(lines)))


async def channel_daily(service, event: CommandInvoked, who, session: AsyncSession):
    if event.conversation.is_dm:
        return service.reply_later(
            event,
            Text(text="Run /drillbot channel daily in the channel that should get the question."),
        )
    now = service.clock.now()
    args = event.args
    channel = await _channel(session, who, event, create=True, now=now)
    if args.get("time") is not None:
        channel.local_time = f"{args['time']:%H:%M}"
    elif not channel.daily_enabled:
        channel.local_time = "09:00"
    if args.get("timezone"):
        channel.timezone = args["timezone"]
    if args.get("days"):
        channel.days = encode_days(args["days"])
    if args.get("track"):
        channel.tracks = list(args["track"])
    if args.get("level"):
        channel.levels = list(args["level"])
    channel.daily_enabled = True
    channel.updated_by = who.actor.user_ref
    channel.updated_at = now
    channel.next_run_at = channel_schedule(channel).next_run(after=now)
    await session.flush()
    return service.reply_later(event, Text(text="Done.\n" + describe_channel(channel)))


async def channel_off(service, event: CommandInvoked, who, session: AsyncSession):
    channel = await _channel(session, who, event, create=False)
    if channel is None or not channel.daily_enabled:
        return service.reply_later(event, Text(text="This channel has no daily question."))
    channel.daily_enabled = False
    channel.next_run_at = None
    channel.updated_by = who.actor.user_ref
    channel.updated_at = service.clock.now()
    return service.reply_later(event, Text(text="The daily question in this channel is off."))


async def _channel(
    session: AsyncSession, who, event: CommandInvoked, *, create: bool, now: datetime | None = None
):
    ref = event.conversation.channel_ref
    channel = await session.scalar(
        select(Channel).where(Channel.team_id == who.team_id, Channel.channel_ref == ref)
    )
    if channel is None and create:
        channel = Channel(
            team_id=who.team_id,
            platform=who.actor.platform,
            channel_ref=ref,
            daily_enabled=False,
            local_time=f"{time(9, 0):%H:%M}",
            timezone=who.team_timezone,
            days=encode_days(WEEKDAYS),
            tracks=[],
            levels=[],
            updated_by=who.actor.user_ref,
            updated_at=now,
        )
        session.add(channel)
    return channel


async def _clear_unreachable(session: AsyncSession, member_id: int) -> None:
    member = await session.get(Member, member_id)
    if member is not None:
        member.unreachable_at = None


async def goal(service, event: CommandInvoked, who, session: AsyncSession):
    """Set or drop the interview date new questions are paced towards."""
    subscription = await subscription_of(session, who.member_id)
    if subscription is None or not subscription.active:
        return service.reply_later(
            event,
            Text(
                text="A goal paces your daily drill, and you have none: start it with "
                "/drillbot subscribe, then set the date."
            ),
        )
    now = service.clock.now()
    target = event.args["date"]
    if target == "off":
        subscription.goal_date, headline = None, "Interview date removed."
    elif target <= now.astimezone(ZoneInfo(subscription.timezone)).date():
        return service.reply_later(
            event, Text(text=f"{target:%d %b %Y} is not in the future; give the interview date.")
        )
    else:
        subscription.goal_date, headline = target, f"Interview date set: {target:%a %d %b %Y}."
        if event.args.get("tracks"):
            subscription.tracks = list(event.args["tracks"])
    subscription.updated_at = now
    await session.flush()
    plan = await plan_lines(service, session, subscription)
    return service.reply_later(event, Text(text="\n".join([headline, *plan])))


async def plan_lines(service, session: AsyncSession, subscription: Subscription) -> list[str]:
    """The member's learning plan as /drillbot settings, /stats and /drillbot goal show it."""
    now = service.clock.now()
    # The plan starts at the next drill: today's may have run already.
    zone = ZoneInfo(subscription.timezone)
    today = (subscription.next_run_at or now).astimezone(zone).date()
    pool = await service.candidate_pool(session)  # kept between commands
    planner = await Planner.load(
        session, service=service, member_ids=[subscription.member_id], now=now, pool=pool
    )
    pace = planner.pace(subscription, day=today, now=now)
    _, track_ids = pool.eligible(Filters(tracks=tuple(subscription.tracks or ())))
    cards = [
        card
        for question_id, card in await session.execute(
            select(SrsCard.question_id, SrsCard.card).where(
                SrsCard.member_id == subscription.member_id, SrsCard.reviews > 0
            )
        )
        if question_id in track_ids
    ]
    srs = service.fixed_srs if subscription.schedule == "fixed" else service.srs
    days = decode_days(subscription.days)
    result = forecast(
        srs=srs,
        cards=cards,
        seen=len(track_ids) - pace.unseen,
        available=len(track_ids),
        pace=pace,
        today=today,
        days=days,
        review_only=decode_days(subscription.review_only_days or ""),
        goal=subscription.goal_date,
        review_cap=service.rules.max_reviews,
    )
    return ["*Plan*", *result.describe(goal=subscription.goal_date)]


HANDLERS = {
    "drillbot goal": goal,
    "drillbot subscribe": subscribe,
    "drillbot pause": pause,
    "drillbot resume": resume,
    "drillbot unsubscribe": unsubscribe,
    "drillbot settings": show_settings,
    "drillbot channel daily": channel_daily,
    "drillbot channel off": channel_off,
}
