"""The journal's statements: store, find what is pending, mark done or dead, prune.

Storing is one INSERT ... ON CONFLICT DO NOTHING: a platform's retry of an event already
stored adds nothing. A member's events are processed oldest first; on PostgreSQL the row
being processed is locked, so a replica that reaches the same member's event waits, then
finds it done and moves on.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Actor
from bot.storage.models import InboundEvent
from bot.storage.raw import Raw

PENDING, DONE, DEAD = "pending", "done", "dead"
COLUMNS = InboundEvent.__table__.c


def actor_key(actor: Actor) -> str:
    """Whose event it is: their events are processed one at a time, in arrival order."""
    return f"{actor.platform}:{actor.team_ref}:{actor.user_ref}"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    event_id: str
    payload: dict[str, Any] | None


async def store(
    session: AsyncSession,
    *,
    platform: str,
    event_id: str,
    key: str,
    payload: dict[str, Any] | None,
    now: datetime,
    done: bool = False,
) -> int | None:
    """The new entry's id, or None when the event was stored before (a retry).

    `done` stores it as processed (no payload), for an event applied in the same
    transaction."""
    sql = await Raw.of(session)
    return await sql.value(
        "INSERT INTO inbound_events (platform, event_id, actor_key, payload, status, attempts, "
        "received_at, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (platform, event_id) DO NOTHING RETURNING id",
        platform,
        event_id,
        key,
        None if done else sql.bind(COLUMNS.payload, payload),
        DONE if done else PENDING,
        1 if done else 0,
        sql.bind(COLUMNS.received_at, now),
        sql.bind(COLUMNS.processed_at, now) if done else None,
    )


async def claim_oldest(session: AsyncSession, *, key: str) -> Entry | None:
    """The member's oldest pending event, locked for this transaction (PostgreSQL; SQLite
    has one writer). When another process holds it, this waits, and then finds nothing:
    that process is working through the member's events and takes the rest too. (Not
    SKIP LOCKED: skipping to the member's next event would apply it out of order.)"""
    sql = await Raw.of(session)
    row = await sql.one(
        "SELECT id, event_id, payload FROM inbound_events WHERE actor_key = ? AND status = ? "
        "ORDER BY id LIMIT 1" + sql.for_update,
        key,
        PENDING,
    )
    return Entry(row[0], row[1], sql.load(COLUMNS.payload, row[2])) if row else None


async def defer(session: AsyncSession, *, entry_id: int, payload: dict[str, Any]) -> None:
    """Turn an entry stored as done back into a pending one: older events of the member
    came first, and this one waits its turn."""
    await session.execute(
        update(InboundEvent)
        .where(InboundEvent.id == entry_id)
        .values(status=PENDING, payload=payload, attempts=0, processed_at=None)
    )


async def has_pending(session: AsyncSession, *, key: str, after_id: int) -> bool:
    sql = await Raw.of(session)
    found = await sql.value(
        "SELECT id FROM inbound_events WHERE actor_key = ? AND status = ? AND id > ? LIMIT 1",
        key,
        PENDING,
        after_id,
    )
    return found is not None


async def mark_done(session: AsyncSession, *, entry_id: int, now: datetime) -> None:
    """Done, in the transaction of its effects. The payload goes: only the id is kept,
    to recognise a retry, until pruning."""
    sql = await Raw.of(session)
    await sql.rows(
        "UPDATE inbound_events SET status = ?, payload = NULL, processed_at = ?, "
        "attempts = attempts + 1 WHERE id = ?",
        DONE,
        sql.bind(COLUMNS.processed_at, now),
        entry_id,
    )


async def mark_failed(
    session: AsyncSession, *, entry_id: int, error: str, now: datetime, dead: bool
) -> None:
    await session.execute(
        update(InboundEvent)
        .where(InboundEvent.id == entry_id)
        .values(
            status=DEAD if dead else PENDING,
            attempts=InboundEvent.attempts + 1,
            last_error=error[:4000],
            processed_at=now if dead else None,
        )
    )


async def pending_keys(
    session: AsyncSession, *, received_before: datetime, limit: int = 500
) -> Sequence[str]:
    """Members with events waiting since before `received_before`, oldest first."""
    rows = await session.execute(
        select(InboundEvent.actor_key, func.min(InboundEvent.id))
        .where(InboundEvent.status == PENDING, InboundEvent.received_at < received_before)
        .group_by(InboundEvent.actor_key)
        .order_by(func.min(InboundEvent.id))
        .limit(limit)
    )
    return [key for key, _ in rows]


async def counts(session: AsyncSession) -> dict[str, int]:
    """Pending and dead entries: the backlog, and what needs an operator."""
    rows = await session.execute(
        select(InboundEvent.status, func.count())
        .where(InboundEvent.status.in_((PENDING, DEAD)))
        .group_by(InboundEvent.status)
    )
    found = dict(rows.all())
    return {PENDING: found.get(PENDING, 0), DEAD: found.get(DEAD, 0)}


async def dead_letters(session: AsyncSession, *, limit: int = 20) -> Sequence[Any]:
    return (
        await session.execute(
            select(
                InboundEvent.platform,
                InboundEvent.event_id,
                InboundEvent.attempts,
                InboundEvent.last_error,
                InboundEvent.received_at,
            )
            .where(InboundEvent.status == DEAD)
            .order_by(InboundEvent.id.desc())
            .limit(limit)
        )
    ).all()


async def prune(session: AsyncSession, *, processed_before: datetime) -> int:
    """Delete processed and dead entries older than the retention period."""
    result = await session.execute(
        delete(InboundEvent).where(
            InboundEvent.status.in_((DONE, DEAD)),
            or_(
                InboundEvent.processed_at < processed_before,
                InboundEvent.processed_at.is_(None),
            ),
            InboundEvent.received_at < processed_before,
        )
    )
    return result.rowcount or 0


async def forget(
    session: AsyncSession, *, keys: Collection[str], keep_event_id: str | None = None
) -> int:
    """Delete these members' processed and dead events (forget-me); pending ones are
    what they did since, and are theirs to keep. `keep_event_id` (the forget-me itself,
    kept by id only) stays, so a platform's retry of it is recognised."""
    if not keys:
        return 0
    result = await session.execute(
        delete(InboundEvent).where(
            InboundEvent.actor_key.in_(keys),
            InboundEvent.status.in_((DONE, DEAD)),
            InboundEvent.event_id != (keep_event_id or ""),
        )
    )
    return result.rowcount or 0
