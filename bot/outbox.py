"""Delivering outbox rows: insert first, send, then record the platform's message ref.

A post that fails stays ``pending`` with a later ``not_before`` and is retried with
backoff; after `max_attempts` it becomes ``failed`` and is logged, never dropped quietly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.grades import Grade
from bot.messages import Message, QuestionCard
from bot.ports import ChatPort, Clock, PlatformError, Sent
from bot.storage.database import transaction
from bot.storage.models import Member, Post, Question
from bot.storage.repository import mark_sent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxPolicy:
    max_attempts: int = 5
    first_backoff: timedelta = timedelta(seconds=30)


def card_message(post: Post, question: Question) -> QuestionCard:
    data = question.data
    return QuestionCard(
        post_id=post.id,
        question_id=question.id,
        track=question.track,
        level=question.level,
        time_limit_s=question.time_limit_s,
        prompt=data["prompt"],
        heading=post.heading,
        companies=tuple(data.get("companies") or ()),
    )


class Outbox:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        ports: Mapping[str, ChatPort],
        clock: Clock,
        policy: OutboxPolicy = OutboxPolicy(),
    ) -> None:
        self._sessions = sessions
        self._ports = ports
        self._clock = clock
        self._policy = policy

    async def deliver(self, post_id: int) -> Sent | None:
        """Send one pending post; returns where it landed, or None if it is not sent now."""
        async with transaction(self._sessions) as session:
            post = await session.get(Post, post_id)
            if post is None or post.status != "pending":
                return None
            message, recipient = await self._render(session, post)
            platform, channel_ref = post.platform, post.channel_ref
        port = self._ports.get(platform)
        if port is None:
            await self._failed(
                post_id, f"no {platform} connection in this process", permanent=False
            )
            return None
        try:
            if channel_ref is None:
                sent = await port.send_dm(user_ref=recipient, message=message)
            else:
                sent = await port.post(channel_ref=channel_ref, message=message)
        except PlatformError as error:
            await self._failed(post_id, str(error), permanent=error.permanent)
            return None
        async with transaction(self._sessions) as session:
            await mark_sent(
                session,
                post_id=post_id,
                channel_ref=sent.channel_ref,
                message_ref=sent.message_ref,
                now=self._clock.now(),
            )
        if isinstance(message, QuestionCard):
            try:
                await port.add_reactions(
                    channel_ref=sent.channel_ref, message_ref=sent.message_ref, grades=list(Grade)
                )
            except PlatformError as error:
                logger.warning("could not add grade reactions to post %s: %s", post_id, error)
        return sent

    async def resume_pending(self) -> int:
        """Send whatever a previous run inserted but never sent; returns how many were sent."""
        async with transaction(self._sessions) as session:
            ids = list(
                await session.scalars(
                    select(Post.id)
                    .where(Post.status == "pending", Post.not_before <= self._clock.now())
                    .order_by(Post.id)
                )
            )
        sent = 0
        for post_id in ids:
            if await self.deliver(post_id):
                sent += 1
        if ids:
            logger.info("resumed %d pending posts, %d sent", len(ids), sent)
        return sent

    async def _render(self, session: AsyncSession, post: Post) -> tuple[Message, str]:
        recipient = ""
        if post.member_id is not None:
            member = await session.get(Member, post.member_id)
            recipient = member.external_id if member else ""
        question = await session.get(Question, post.question_id) if post.question_id else None
        if question is None:
            raise LookupError(f"post {post.id} has no question to show")
        return card_message(post, question), recipient

    async def _failed(self, post_id: int, error: str, *, permanent: bool) -> None:
        async with transaction(self._sessions) as session:
            post = await session.get(Post, post_id)
            if post is None:
                return
            post.attempts += 1
            post.last_error = error[:2000]
            if permanent or post.attempts >= self._policy.max_attempts:
                post.status = "failed"
                logger.error("post %s (%s) failed for good: %s", post.id, post.key, error)
            else:
                backoff = self._policy.first_backoff * (2 ** (post.attempts - 1))
                post.not_before = self._clock.now() + backoff
                logger.warning(
                    "post %s (%s) failed (attempt %d), retrying in %s: %s",
                    post.id,
                    post.key,
                    post.attempts,
                    backoff,
                    error,
                )
