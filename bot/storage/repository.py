"""Queries the service needs, written once for SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bank.loader import Bank
from bot.events import Actor
from bot.storage.models import Member, Post, Question, ReviewLog, SrsCard, Team
from bot.storage.raw import Raw


async def ensure_team(
    session: AsyncSession,
    *,
    platform: str,
    team_ref: str,
    now: datetime,
    timezone: str = "UTC",
    name: str = "",
) -> tuple[Team, bool]:
    """The team, and whether this transaction created it."""
    query = select(Team).where(Team.platform == platform, Team.external_id == team_ref)
    team = await session.scalar(query)
    if team:
        return team, False
    try:
        async with session.begin_nested():
            team = Team(
                platform=platform,
                external_id=team_ref,
                name=name or team_ref,
                timezone=timezone,
                created_at=now,
            )
            session.add(team)
            await session.flush()
            return team, True
    except IntegrityError:
        return (await session.scalars(query)).one(), False


@dataclass(frozen=True, slots=True)
class MemberRef:
    """What every event needs of its member: read with the member's schedule."""

    id: int
    timezone: str | None
    schedule: str | None  # the subscription's review schedule, None without one
    dm_channel_ref: str | None


_MEMBER = (
    "SELECT m.id, m.display_name, m.timezone, s.schedule, m.dm_channel_ref FROM members m "
    "LEFT JOIN subscriptions s ON s.member_id = m.id "
    "WHERE m.team_id = ? AND m.external_id = ?"
)
MEMBERS = Member.__table__.c
CARDS = SrsCard.__table__.c
POSTS = Post.__table__.c
LOGS = ReviewLog.__table__.c


async def ensure_member(
    session: AsyncSession, *, team_id: int, actor: Actor, now: datetime
) -> MemberRef:
    """The member behind an actor, created on first sight and kept up to date.

    Created with INSERT ... ON CONFLICT DO NOTHING: the same new member's first events
    may reach two replicas at once."""
    sql = await Raw.of(session)
    row = await sql.one(_MEMBER, team_id, actor.user_ref)
    if row is None:
        await sql.rows(
            "INSERT INTO members (team_id, platform, external_id, display_name, timezone, "
            "leaderboard_opt_out, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (team_id, external_id) DO NOTHING",
            team_id,
            actor.platform,
            actor.user_ref,
            actor.display_name or actor.user_ref,
            actor.timezone,
            sql.bind(MEMBERS.leaderboard_opt_out, False),
            sql.bind(MEMBERS.created_at, now),
        )
        row = await sql.one(_MEMBER, team_id, actor.user_ref)
        assert row is not None
    member_id, display_name, timezone, schedule, dm_channel_ref = row
    changes: dict[str, str] = {}
    if actor.display_name and display_name != actor.display_name:
        changes["display_name"] = actor.display_name
    if actor.timezone and timezone is None:
        # The platform's zone (a Slack profile's) at first sight; after that the
        # member's own choice (/drillbot subscribe with a zone) stands.
        changes["timezone"] = timezone = actor.timezone
    if changes:
        assignments = ", ".join(f"{name} = ?" for name in changes)
        await sql.rows(
            f"UPDATE members SET {assignments} WHERE id = ?", *changes.values(), member_id
        )
    return MemberRef(member_id, timezone, schedule, dm_channel_ref)


@dataclass(frozen=True)
class SyncReport:
    added: int
    updated: int
    retired: int
    total: int


async def sync_questions(session: AsyncSession, *, bank: Bank, now: datetime) -> SyncReport:
    """Make the questions table match the bank: by id, changed content by hash.

    Questions that left the bank are marked inactive, not deleted: old posts, grades and
    review logs still point at them.
    """
    stored = {q.id: q for q in await session.scalars(select(Question))}
    added = updated = retired = 0
    for question in bank:
        digest = question.content_hash
        row = stored.pop(question.id, None)
        fields = {
            "track": question.track,
            "level": question.level,
            "time_limit_s": question.time_budget_s,
            "content_hash": digest,
            "data": question.model_dump(mode="json"),
            "active": True,
            "synced_at": now,
        }
        if row is None:
            session.add(Question(id=question.id, **fields))
            added += 1
        elif row.content_hash != digest or not row.active:
            for name, value in fields.items():
                setattr(row, name, value)
            updated += 1
    for row in stored.values():
        if row.active:
            row.active = False
            retired += 1
    await session.flush()
    return SyncReport(added=added, updated=updated, retired=retired, total=len(bank))


async def insert_post(session: AsyncSession, post: Post) -> tuple[Post, bool]:
    """Insert an outbox row under its natural key; (existing row, False) if the key exists."""
    try:
        async with session.begin_nested():
            session.add(post)
            await session.flush()
            return post, True
    except IntegrityError:
        existing = await session.scalar(select(Post).where(Post.key == post.key))
        if existing is None:
            raise
        return existing, False


@dataclass(frozen=True, slots=True)
class PostRef:
    """What the event path reads of a post (the ORM `Post` has the same attributes)."""

    id: int
    kind: str
    platform: str
    team_id: int
    member_id: int | None
    channel_ref: str | None
    message_ref: str | None
    question_id: str | None
    round_id: int | None
    position: int
    status: str


_POST_REF = (
    "SELECT id, kind, platform, team_id, member_id, channel_ref, message_ref, question_id, "
    "round_id, position, status FROM posts"
)


async def post_by_id(session: AsyncSession, post_id: int) -> PostRef | None:
    row = await (await Raw.of(session)).one(f"{_POST_REF} WHERE id = ?", post_id)
    return PostRef(*row) if row is not None else None


async def find_posts_by_message(
    session: AsyncSession,
    *,
    platform: str,
    message_ref: str,
    channel_ref: str | None = None,
    limit: int,
) -> list[PostRef]:
    """The posts sent in one message, first first: one for a card, several for a digest."""
    sql = await Raw.of(session)
    where = "platform = ? AND message_ref = ?" + (" AND channel_ref = ?" if channel_ref else "")
    params = (platform, message_ref, *([channel_ref] if channel_ref else []))
    rows = await sql.rows(f"{_POST_REF} WHERE {where} ORDER BY id LIMIT {int(limit)}", *params)
    return [PostRef(*row) for row in rows]


async def shares_message(session: AsyncSession, post: Post) -> bool:
    """Whether other posts were sent in `post`'s message: a review digest's items."""
    if post.message_ref is None:
        return False
    posts = await find_posts_by_message(
        session,
        platform=post.platform,
        message_ref=post.message_ref,
        channel_ref=post.channel_ref,
        limit=2,
    )
    return len(posts) > 1


async def review_dues(session: AsyncSession, *, member_id: int) -> dict[str, datetime]:
    """When each question the member has reviewed is due again."""
    sql = await Raw.of(session)
    rows = await sql.rows(
        "SELECT question_id, due FROM srs_cards WHERE member_id = ? AND reviews > 0", member_id
    )
    return {question_id: sql.load(CARDS.due, due) for question_id, due in rows}


async def last_shown(
    session: AsyncSession, *, member_id: int, since: datetime
) -> dict[str, datetime]:
    """When each question was last sent to this member (DM posts only), since `since`."""
    sql = await Raw.of(session)
    rows = await sql.rows(
        "SELECT question_id, max(created_at) FROM posts WHERE member_id = ? "
        "AND question_id IS NOT NULL AND created_at >= ? GROUP BY question_id",
        member_id,
        sql.bind(POSTS.created_at, since),
    )
    return {question_id: sql.load(POSTS.created_at, shown) for question_id, shown in rows}


async def reviews_since(session: AsyncSession, *, member_id: int, since: datetime) -> int:
    """How many reviews the member has made since `since` (replaced ones not counted)."""
    sql = await Raw.of(session)
    return await sql.value(
        "SELECT count(id) FROM review_logs WHERE member_id = ? AND reviewed_at >= ? "
        "AND superseded = ?",
        member_id,
        sql.bind(LOGS.reviewed_at, since),
        sql.bind(LOGS.superseded, False),
    )


async def mark_sent(
    session: AsyncSession, *, post_id: int, channel_ref: str, message_ref: str, now: datetime
) -> None:
    await session.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(
            status="sent",
            channel_ref=channel_ref,
            message_ref=message_ref,
            sent_at=now,
            lease_until=None,
            last_error=None,
        )
    )


async def queue_notice(
    session: AsyncSession,
    *,
    key: str,
    platform: str,
    team_id: int,
    text: str,
    now: datetime,
    member_id: int | None = None,
    channel_ref: str | None = None,
) -> Post:
    """A plain text message through the outbox: to a member's DM, or to a channel."""
    post, _ = await insert_post(
        session,
        Post(
            key=key,
            kind="notice",
            platform=platform,
            team_id=team_id,
            member_id=member_id,
            channel_ref=channel_ref,
            text=text,
            status="pending",
            not_before=now,
            created_at=now,
        ),
    )
    return post
