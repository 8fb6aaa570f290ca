"""Recording, changing and removing self-grades, and keeping FSRS cards in step.

A grade is one review. Changing it replaces that review (the card is rebuilt from the
state saved before it and the old review log is marked superseded); removing it undoes
the review. If the member has reviewed the same question again since, the card is left
alone and only the grade and its history change: undoing an old review would throw
away the newer one.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.grades import Grade
from bot.srs import Srs
from bot.storage.models import Grade as GradeRow
from bot.storage.models import GradeEvent, ReviewLog, SrsCard
from bot.storage.raw import Raw

CARDS = SrsCard.__table__.c
GRADES = GradeRow.__table__.c
LOGS = ReviewLog.__table__.c
EVENTS = GradeEvent.__table__.c


@dataclass(frozen=True)
class GradeOutcome:
    """What happened, for the confirmation the member sees."""

    action: str  # "added", "changed", "unchanged", "removed", "absent"
    grade: Grade | None
    previous: Grade | None
    next_due: datetime | None


class GradedPost(Protocol):
    """What grading needs of a post (an ORM `Post` or a `PostRef`)."""

    id: int
    question_id: str | None


@dataclass
class _Card:
    id: int
    card: dict[str, Any]
    due: datetime
    reviews: int


@dataclass(frozen=True)
class _Existing:
    id: int
    grade: Grade
    card_before: dict[str, Any] | None
    review_log_id: int | None
    graded_at: datetime


async def record_grade(
    session: AsyncSession,
    *,
    srs: Srs,
    member_id: int,
    post: GradedPost,
    grade: Grade,
    now: datetime,
    source: str,
) -> GradeOutcome:
    assert post.question_id is not None
    sql = await Raw.of(session)
    # The card first, locked: another process grading the same card waits here, then
    # reads the grade this one wrote.
    card = await _card(sql, member_id=member_id, question_id=post.question_id, srs=srs, now=now)
    existing = await _existing(sql, post_id=post.id, member_id=member_id)
    if existing is not None:
        if existing.grade is grade:
            return GradeOutcome("unchanged", grade, grade, card.due)
        log_id = existing.review_log_id
        if await _is_latest_review(sql, existing, member_id, post.question_id):
            await _supersede(sql, log_id)
            log_id = await _review(
                sql,
                srs=srs,
                card=card,
                before=existing.card_before or card.card,
                grade=grade,
                at=existing.graded_at,
                post=post,
                member_id=member_id,
            )
        await sql.rows(
            "UPDATE grades SET grade = ?, review_log_id = ?, updated_at = ? WHERE id = ?",
            grade.value,
            log_id,
            sql.bind(GRADES.updated_at, now),
            existing.id,
        )
        await _grade_event(sql, post.id, member_id, "change", grade, source, now)
        return GradeOutcome("changed", grade, existing.grade, card.due)

    before = dict(card.card)
    log_id = await _review(
        sql, srs=srs, card=card, before=before, grade=grade, at=now, post=post, member_id=member_id
    )
    await sql.rows(
        "INSERT INTO grades (post_id, member_id, question_id, grade, card_before, "
        "review_log_id, graded_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        post.id,
        member_id,
        post.question_id,
        grade.value,
        sql.bind(GRADES.card_before, before),
        log_id,
        sql.bind(GRADES.graded_at, now),
        sql.bind(GRADES.updated_at, now),
    )
    await _grade_event(sql, post.id, member_id, "add", grade, source, now)
    return GradeOutcome("added", grade, None, card.due)


async def remove_grade(
    session: AsyncSession,
    *,
    member_id: int,
    post: GradedPost,
    grade: Grade | None,
    now: datetime,
    source: str,
) -> GradeOutcome:
    """Remove the member's grade on a post (only if it is `grade`, when one is given).

    Removing a reaction that is not the member's current grade (they reacted 🟢 then 🔴,
    then took the 🟢 away) changes nothing.
    """
    sql = await Raw.of(session)
    card = None
    if post.question_id is not None:
        card = await _locked_card(sql, member_id=member_id, question_id=post.question_id)
    existing = await _existing(sql, post_id=post.id, member_id=member_id)
    if existing is None or (grade is not None and existing.grade is not grade):
        return GradeOutcome("absent", None, None, None)
    if (
        card is not None
        and post.question_id is not None
        and existing.card_before
        and await _is_latest_review(sql, existing, member_id, post.question_id)
    ):
        await _supersede(sql, existing.review_log_id)
        await _save_card(sql, card, existing.card_before, reviewed=-1)
    await sql.rows("DELETE FROM grades WHERE id = ?", existing.id)
    await _grade_event(sql, post.id, member_id, "remove", None, source, now)
    return GradeOutcome("removed", None, existing.grade, card.due if card else None)


async def _card(sql: Raw, *, member_id: int, question_id: str, srs: Srs, now: datetime) -> _Card:
    """The member's card for the question, created if need be, locked for this grade.

    Created with INSERT ... ON CONFLICT DO NOTHING: two processes grading a question the
    member has never graded both try to create its card, and the second must find the
    first's rather than fail.
    """
    data = srs.new_card(now=now, card_id=zlib.crc32(f"{member_id}:{question_id}".encode()))
    await sql.rows(
        "INSERT INTO srs_cards (member_id, question_id, card, due, last_review, reviews) "
        "VALUES (?, ?, ?, ?, NULL, 0) ON CONFLICT (member_id, question_id) DO NOTHING",
        member_id,
        question_id,
        sql.bind(CARDS.card, data),
        sql.bind(CARDS.due, now),
    )
    card = await _locked_card(sql, member_id=member_id, question_id=question_id)
    assert card is not None
    return card


async def _locked_card(sql: Raw, *, member_id: int, question_id: str) -> _Card | None:
    """The card, locked until the transaction ends (PostgreSQL; SQLite has one writer):
    a grade from another process may have changed it meanwhile."""
    row = await sql.one(
        "SELECT id, card, due, reviews FROM srs_cards WHERE member_id = ? AND question_id = ?"
        + sql.for_update,
        member_id,
        question_id,
    )
    if row is None:
        return None
    return _Card(row[0], sql.load(CARDS.card, row[1]), sql.load(CARDS.due, row[2]), row[3])


async def _existing(sql: Raw, *, post_id: int, member_id: int) -> _Existing | None:
    row = await sql.one(
        "SELECT id, grade, card_before, review_log_id, graded_at FROM grades "
        "WHERE post_id = ? AND member_id = ?",
        post_id,
        member_id,
    )
    if row is None:
        return None
    return _Existing(
        row[0],
        Grade(row[1]),
        sql.load(GRADES.card_before, row[2]),
        row[3],
        sql.load(GRADES.graded_at, row[4]),
    )


async def _review(
    sql: Raw,
    *,
    srs: Srs,
    card: _Card,
    before: dict,
    grade: Grade,
    at: datetime,
    post: GradedPost,
    member_id: int,
) -> int:
    review = srs.review(before, grade, at=at)
    await _save_card(sql, card, review.card, reviewed=+1 if card.card == before else 0)
    return await sql.value(
        "INSERT INTO review_logs (member_id, question_id, post_id, rating, reviewed_at, log, "
        "superseded) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        member_id,
        post.question_id,
        post.id,
        int(grade.rating),
        sql.bind(LOGS.reviewed_at, at),
        sql.bind(LOGS.log, review.log),
        sql.bind(LOGS.superseded, False),
    )


async def _save_card(sql: Raw, card: _Card, data: dict, *, reviewed: int) -> None:
    card.card = data
    card.due = datetime.fromisoformat(data["due"])
    last = data.get("last_review")
    card.reviews = max(0, card.reviews + reviewed)
    await sql.rows(
        "UPDATE srs_cards SET card = ?, due = ?, last_review = ?, reviews = ? WHERE id = ?",
        sql.bind(CARDS.card, data),
        sql.bind(CARDS.due, card.due),
        sql.bind(CARDS.last_review, datetime.fromisoformat(last) if last else None),
        card.reviews,
        card.id,
    )


async def _is_latest_review(sql: Raw, grade: _Existing, member_id: int, question_id: str) -> bool:
    latest = await sql.value(
        "SELECT id FROM review_logs WHERE member_id = ? AND question_id = ? AND superseded = ? "
        "ORDER BY id DESC LIMIT 1",
        member_id,
        question_id,
        sql.bind(LOGS.superseded, False),
    )
    return latest is not None and latest == grade.review_log_id


async def _supersede(sql: Raw, log_id: int | None) -> None:
    if log_id is not None:
        await sql.rows(
            "UPDATE review_logs SET superseded = ? WHERE id = ?",
            sql.bind(LOGS.superseded, True),
            log_id,
        )


async def _grade_event(
    sql: Raw,
    post_id: int,
    member_id: int,
    action: str,
    grade: Grade | None,
    source: str,
    now: datetime,
) -> None:
    await sql.rows(
        "INSERT INTO grade_events (post_id, member_id, action, grade, source, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        post_id,
        member_id,
        action,
        grade.value if grade is not None else None,
        source,
        sql.bind(EVENTS.at, now),
    )
