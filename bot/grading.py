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

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.grades import Grade
from bot.srs import Srs
from bot.storage.database import dialect_insert
from bot.storage.models import Grade as GradeRow
from bot.storage.models import GradeEvent, Member, Post, ReviewLog, SrsCard


@dataclass(frozen=True)
class GradeOutcome:
    """What happened, for the confirmation the member sees."""

    action: str  # "added", "changed", "unchanged", "removed", "absent"
    grade: Grade | None
    previous: Grade | None
    next_due: datetime | None


async def record_grade(
    session: AsyncSession,
    *,
    srs: Srs,
    member: Member,
    post: Post,
    grade: Grade,
    now: datetime,
    source: str,
) -> GradeOutcome:
    assert post.question_id is not None
    # The card first, locked: another process grading the same card waits here, then
    # reads the grade this one wrote.
    card = await _card(session, member_id=member.id, question_id=post.question_id, srs=srs, now=now)
    existing = await session.scalar(
        select(GradeRow)
        .where(GradeRow.post_id == post.id, GradeRow.member_id == member.id)
        .execution_options(populate_existing=True)
    )
    if existing is not None:
        previous = Grade(existing.grade)
        if previous is grade:
            return GradeOutcome("unchanged", grade, previous, card.due)
        if await _is_latest_review(session, existing):
            await _supersede(session, existing.review_log_id)
            before = existing.card_before or card.card
            log_id = await _review(
                session,
                srs=srs,
                card=card,
                before=before,
                grade=grade,
                at=existing.graded_at,
                post=post,
                member=member,
            )
            existing.review_log_id = log_id
        existing.grade = grade.value
        existing.updated_at = now
        session.add(
            GradeEvent(
                post_id=post.id,
                member_id=member.id,
                action="change",
                grade=grade.value,
                source=source,
                at=now,
            )
        )
        return GradeOutcome("changed", grade, previous, card.due)

    before = dict(card.card)
    log_id = await _review(
        session, srs=srs, card=card, before=before, grade=grade, at=now, post=post, member=member
    )
    session.add(
        GradeRow(
            post_id=post.id,
            member_id=member.id,
            question_id=post.question_id,
            grade=grade.value,
            card_before=before,
            review_log_id=log_id,
            graded_at=now,
            updated_at=now,
        )
    )
    session.add(
        GradeEvent(
            post_id=post.id,
            member_id=member.id,
            action="add",
            grade=grade.value,
            source=source,
            at=now,
        )
    )
    await session.flush()
    return GradeOutcome("added", grade, None, card.due)


async def remove_grade(
    session: AsyncSession,
    *,
    member: Member,
    post: Post,
    grade: Grade | None,
    now: datetime,
    source: str,
) -> GradeOutcome:
    """Remove the member's grade on a post (only if it is `grade`, when one is given).

    Removing a reaction that is not the member's current grade (they reacted 🟢 then 🔴,
    then took the 🟢 away) changes nothing.
    """
    card = None
    if post.question_id is not None:
        card = await _locked_card(session, member_id=member.id, question_id=post.question_id)
    existing = await session.scalar(
        select(GradeRow)
        .where(GradeRow.post_id == post.id, GradeRow.member_id == member.id)
        .execution_options(populate_existing=True)
    )
    if existing is None or (grade is not None and existing.grade != grade.value):
        return GradeOutcome("absent", None, None, None)
    previous = Grade(existing.grade)
    if card is not None and await _is_latest_review(session, existing) and existing.card_before:
        await _supersede(session, existing.review_log_id)
        _apply_card(card, existing.card_before, reviewed=-1)
    await session.delete(existing)
    session.add(
        GradeEvent(
            post_id=post.id, member_id=member.id, action="remove", grade=None, source=source, at=now
        )
    )
    await session.flush()
    return GradeOutcome("removed", None, previous, card.due if card else None)


async def _card(
    session: AsyncSession, *, member_id: int, question_id: str, srs: Srs, now: datetime
) -> SrsCard:
    """The member's card for the question, created if need be, locked for this grade.

    Created with INSERT ... ON CONFLICT DO NOTHING: two processes grading a question the
    member has never graded both try to create its card, and the second must find the
    first's rather than fail.
    """
    insert = dialect_insert(session)
    data = srs.new_card(now=now, card_id=zlib.crc32(f"{member_id}:{question_id}".encode()))
    await session.execute(
        insert(SrsCard)
        .values(
            member_id=member_id,
            question_id=question_id,
            card=data,
            due=now,
            last_review=None,
            reviews=0,
        )
        .on_conflict_do_nothing(index_elements=["member_id", "question_id"])
    )
    card = await _locked_card(session, member_id=member_id, question_id=question_id)
    assert card is not None
    return card


async def _locked_card(
    session: AsyncSession, *, member_id: int, question_id: str
) -> SrsCard | None:
    """The card, locked until the transaction ends (PostgreSQL; SQLite has one writer),
    and read afresh: a grade from another process may have changed it meanwhile."""
    return await session.scalar(
        select(SrsCard)
        .where(SrsCard.member_id == member_id, SrsCard.question_id == question_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _review(
    session: AsyncSession,
    *,
    srs: Srs,
    card: SrsCard,
    before: dict,
    grade: Grade,
    at: datetime,
    post: Post,
    member: Member,
) -> int:
    review = srs.review(before, grade, at=at)
    _apply_card(card, review.card, reviewed=+1 if card.card == before else 0)
    log = ReviewLog(
        member_id=member.id,
        question_id=card.question_id,
        post_id=post.id,
        rating=int(grade.rating),
        reviewed_at=at,
        log=review.log,
    )
    session.add(log)
    await session.flush()
    return log.id


def _apply_card(card: SrsCard, data: dict, *, reviewed: int) -> None:
    card.card = data
    card.due = datetime.fromisoformat(data["due"])
    last = data.get("last_review")
    card.last_review = datetime.fromisoformat(last) if last else None
    card.reviews = max(0, card.reviews + reviewed)


async def _is_latest_review(session: AsyncSession, grade: GradeRow) -> bool:
    latest = await session.scalar(
        select(ReviewLog.id)
        .where(
            ReviewLog.member_id == grade.member_id,
            ReviewLog.question_id == grade.question_id,
            ReviewLog.superseded.is_(False),
        )
        .order_by(ReviewLog.id.desc())
        .limit(1)
    )
    return latest is not None and latest == grade.review_log_id


async def _supersede(session: AsyncSession, log_id: int | None) -> None:
    if log_id is None:
        return
    await session.execute(
        update(ReviewLog)
        .where(ReviewLog.id == log_id)
        .values(superseded=True)
        .execution_options(synchronize_session=False)
    )
