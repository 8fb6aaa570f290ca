"""Delivering outbox rows: insert first, send, then record the platform's message ref.

Rows are claimed with a lease before sending (``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
so several instances can share one outbox; a lease left by a dead instance expires and
another instance picks the row up. A failed send stays ``pending`` with a later
``not_before`` (exponential backoff); after `max_attempts`, or on a permanent error, it
becomes ``failed`` and is logged. Nothing is dropped quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.grades import Grade
from bot.messages import (
    REVIEWS_PER_MESSAGE,
    Image,
    LeaderboardRow,
    LeaderboardView,
    Message,
    QuestionCard,
    QuestionFace,
    ReviewDigest,
    Text,
)
from bot.ports import NO_METRICS, ChatPort, Clock, MetricsSink, PlatformError, Sent
from bot.ratelimit import UNLIMITED, RateLimiter
from bot.storage.bulk import update_by_key
from bot.storage.database import transaction
from bot.storage.models import POST_IS_PENDING, Channel, Member, Post, Question
from bot.storage.raw import Raw

logger = logging.getLogger(__name__)

ALL_GRADES = tuple(Grade)  # the reaction hints on a card, in button order

# A review that travels inside the message of the review before it (a ReviewDigest): it
# is never sent on its own, and is recorded as sent, or failed, with that message.
GROUPED = "grouped"


@dataclass(frozen=True)
class OutboxPolicy:
    max_attempts: int = 5
    first_backoff: timedelta = timedelta(seconds=30)
    # Renewed every third of it while a batch is being sent, so a replica that dies
    # leaves its claimed posts to the others within this long.
    lease: timedelta = timedelta(seconds=30)
    retry_after_tries: int = 3
    concurrency: int = 8
    # How often the recorder looks at the leases when nothing was sent meanwhile.
    record_every: timedelta = timedelta(seconds=1)
    reaction_hints: str = "all"  # "all", "channels" (not on DM cards) or "none"

    def hints_on(self, kind: str) -> bool:
        """Whether a post of this kind gets the grade reactions as hints."""
        if self.reaction_hints == "none":
            return False
        return self.reaction_hints == "all" or kind == "channel"


def leaderboard_messages(payload: dict) -> tuple[LeaderboardView, Image]:
    """A stored weekly board as the message and its chart."""
    from bot.charts import leaderboard_chart

    rows = tuple(LeaderboardRow(**row) for row in payload["rows"])
    view = LeaderboardView(title=payload["title"], rows=rows)
    chart = Image(
        png=leaderboard_chart(
            title=payload["title"],
            names=[r.display_name for r in rows],
            completed=[r.completed for r in rows],
        ),
        filename=f"leaderboard-{payload['week']}.png",
        title=payload["title"],
    )
    return view, chart


@dataclass(slots=True)
class OutgoingPost:
    """One post on its way out: the message, where it goes, and how sending went."""

    post_id: int
    kind: str  # Post.kind: dm, channel, drill, mock, board...
    platform: str
    message: Message
    channel_ref: str | None  # None: a DM that has no cached channel yet
    user_ref: str
    member_id: int | None
    follow_up: Image | None = None  # e.g. the leaderboard chart, posted in the thread
    companions: tuple[int, ...] = ()  # grouped reviews carried in the same message
    sent: Sent | None = None
    error: PlatformError | None = None

    @property
    def conversation(self) -> str:
        """Where it goes, as sending orders and rate-limits it: the channel, or the
        member's DM before its channel is known."""
        return self.channel_ref or f"dm:{self.user_ref}"


def with_review(job: OutgoingPost, card: QuestionCard) -> None:
    """Make `job` carry one more review: a card becomes a ReviewDigest of the two."""
    message = job.message
    items = message.items if isinstance(message, ReviewDigest) else (message,)
    job.message = ReviewDigest(items=(*items, card))
    job.companions = (*job.companions, card.post_id)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0

    @classmethod
    def of(cls, jobs: Sequence[OutgoingPost]) -> DeliveryReport:
        sent = sum(1 for job in jobs if job.sent)
        failed = sum(1 for job in jobs if job.error and job.error.permanent)
        return cls(sent=sent, failed=failed, retrying=len(jobs) - sent - failed)


class _ClaimedRow(NamedTuple):
    id: int
    key: str
    position: int
    kind: str
    platform: str
    channel_ref: str | None
    member_id: int | None
    question_id: str | None
    heading: str
    text: str | None
    payload: dict | None


class _Recipient(NamedTuple):
    id: int
    external_id: str
    dm_channel_ref: str | None


POSTS = Post.__table__.c


def _marks(values: Sequence) -> str:
    return ", ".join("?" * len(values))


# What `question_face` reads of a question.
QUESTION_FACE_COLUMNS = (
    Question.id,
    Question.track,
    Question.level,
    Question.time_limit_s,
    Question.data,
)


async def load_faces(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, QuestionFace]:
    """The faces of the given questions."""
    rows = await session.execute(
        select(*QUESTION_FACE_COLUMNS).where(Question.id.in_({i for i in ids if i is not None}))
    )
    return {row.id: question_face(row) for row in rows}


def question_face(question) -> QuestionFace:
    """A question row (id, track, level, time_limit_s and data) as its cards show it."""
    return QuestionFace(
        question_id=question.id,
        track=question.track,
        level=question.level,
        time_limit_s=question.time_limit_s,
        prompt=question.data["prompt"],
        companies=tuple(question.data.get("companies") or ()),
    )


async def _grouped_reviews(session: AsyncSession, posts: Sequence) -> dict[str, Any]:
    """The grouped reviews that may travel with the DM posts among `posts`, by key."""
    keys = [
        key
        for post in posts
        if post.kind == "dm" and post.question_id is not None
        for key in _companion_keys(post)
    ]
    if not keys:
        return {}
    rows = await session.execute(
        select(Post.id, Post.key, Post.question_id, Post.heading).where(
            Post.key.in_(keys), Post.status == GROUPED
        )
    )
    return {row.key: row for row in rows}


def _companion_keys(post) -> list[str]:
    """The keys a DM post's grouped reviews would have: the next positions of its day."""
    prefix = post.key.rsplit(":", 1)[0]
    return [f"{prefix}:{post.position + offset}" for offset in range(1, REVIEWS_PER_MESSAGE)]


def _carried_by(post, grouped: Mapping[str, Any]) -> list:
    """The grouped reviews right after `post`, in order, up to the first gap."""
    if not grouped or post.kind != "dm" or post.question_id is None:
        return []
    carried = []
    for key in _companion_keys(post):
        review = grouped.get(key)
        if review is None:
            break
        carried.append(review)
    return carried


class Outbox:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        ports: Mapping[str, ChatPort],
        clock: Clock,
        limiters: Mapping[str, RateLimiter] | None = None,
        policy: OutboxPolicy = OutboxPolicy(),
        postgres: bool = False,
        metrics: MetricsSink = NO_METRICS,
    ) -> None:
        self._sessions = sessions
        self._metrics = metrics
        self._ports = ports
        self._clock = clock
        self._limiters = dict(limiters or {})
        self.policy = policy
        self._postgres = postgres
        self.totals = {"sent": 0, "failed": 0, "retrying": 0}
        self._held: set[int] = set()  # posts this process leased and has not recorded yet

    async def release_leases(self) -> int:
        """At shutdown: give back the leases of posts whose sends were cut off, so another
        instance (or the next start) sends them now rather than when the lease runs out."""
        held, self._held = self._held, set()
        return await self._lease_pending(held, until=None)

    async def take_back_leases(self) -> int:
        """At the start of the only instance (SQLite's instance lock proves the previous
        process is gone): its leases are void, so what it had claimed goes out now rather
        than when the leases run out."""
        async with transaction(self._sessions) as session:
            result = await session.execute(
                update(Post)
                .where(POST_IS_PENDING, Post.lease_until.is_not(None))
                .values(lease_until=None)
                .execution_options(synchronize_session=False)
            )
        return result.rowcount or 0

    async def _lease_pending(self, post_ids: Iterable[int], *, until: datetime | None) -> int:
        """Set the lease of those of `post_ids` still pending; returns how many."""
        post_ids = list(post_ids)
        if not post_ids:
            return 0
        async with transaction(self._sessions) as session:
            result = await session.execute(
                update(Post)
                .where(Post.id.in_(post_ids), POST_IS_PENDING)
                .values(lease_until=until)
                .execution_options(synchronize_session=False)
            )
        return result.rowcount or 0

    def limiter(self, platform: str) -> RateLimiter:
        if platform not in self._limiters:
            self._limiters[platform] = RateLimiter(UNLIMITED)
        return self._limiters[platform]

    async def deliver(self, post_id: int) -> Sent | None:
        """Send one post now; returns where it landed, or None if it was not sent."""
        jobs = await self._send([post_id])
        return jobs[0].sent if jobs else None

    async def deliver_many(self, post_ids: Sequence[int]) -> DeliveryReport:
        return DeliveryReport.of(await self._send(post_ids))

    async def resume_pending(self, *, limit: int = 5000) -> int:
        """Send what is pending and due (a restart's leftovers, retries); returns how many sent."""
        total = 0
        while True:
            async with transaction(self._sessions) as session:
                now = self._clock.now()
                ids = list(
                    await session.scalars(
                        select(Post.id)
                        .where(
                            POST_IS_PENDING,
                            Post.not_before <= now,
                            or_(Post.lease_until.is_(None), Post.lease_until < now),
                        )
                        # Oldest due first, which also keeps the search on ix_posts_pending.
                        .order_by(Post.not_before, Post.id)
                        .limit(limit)
                    )
                )
            if not ids:
                return total
            report = await self.deliver_many(ids)
            total += report.sent
            if len(ids) < limit or report.sent == 0:
                return total

    # ---- the three steps: claim, send, record ---------------------------------------

    async def _send(self, post_ids: Sequence[int]) -> list[OutgoingPost]:
        jobs = await self._claim(post_ids)
        await self.send_jobs(jobs)
        return jobs

    async def send_claimed(self, jobs: list[OutgoingPost]) -> DeliveryReport:
        """Send posts the caller inserted already leased (the daily dispatch does)."""
        await self.send_jobs(jobs)
        return DeliveryReport.of(jobs)

    async def send_jobs(self, jobs: list[OutgoingPost]) -> None:
        """Send with a few workers (not a task per message), and record every outcome.

        What the platform accepted is recorded at once: the recorder commits whatever
        sends have finished as soon as there are any (a group commit, so a fast platform
        makes big batches and a slow one small ones). A process killed outright thus
        repeats at most the sends in flight and those accepted while the last batch was
        being written. A member can grade the first card before the last one goes out,
        and the leases of what is still waiting are renewed every third of a lease. A
        card gets its grade hints once it is recorded: a reaction on a hint always finds
        its card.

        One conversation's posts go out one after another, in the order given (a drill's
        cards arrive as 1/4, 2/4, 3/4, 4/4); different conversations go out side by side.
        """
        if not jobs:
            return
        self._held.update(job.post_id for job in jobs)
        conversations: dict[str, list[OutgoingPost]] = {}
        for job in jobs:
            conversations.setdefault(job.conversation, []).append(job)
        pending = iter(conversations.values())
        done: list[OutgoingPost] = []
        sent_some = asyncio.Event()
        finished = False

        async def worker() -> None:
            for conversation in pending:
                for job in conversation:
                    await self._send_one(job)
                    done.append(job)
                    sent_some.set()

        async def record_meanwhile() -> None:
            renewed = self._clock.now()
            extras: list[asyncio.Task] = []
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        sent_some.wait(), self.policy.record_every.total_seconds()
                    )
                sent_some.clear()
                if done:
                    batch = done[:]
                    del done[:]
                    await self._record(batch)
                    extras.append(asyncio.create_task(self._finish(batch)))
                if finished and not done:
                    break
                if self._clock.now() - renewed >= self.policy.lease / 3:
                    renewed = self._clock.now()
                    await self._lease_pending(self._held, until=renewed + self.policy.lease)
            await asyncio.gather(*extras)

        recorder = asyncio.create_task(record_meanwhile())
        try:
            await asyncio.gather(
                *(worker() for _ in range(min(self.policy.concurrency, len(conversations))))
            )
        finally:
            finished = True
            sent_some.set()
            await recorder

    async def _finish(self, jobs: list[OutgoingPost]) -> None:
        """The extras of recorded posts (grade hints, charts), with as many workers as
        sending has: one platform call after another, a batch's hints would take longer
        than its sends."""
        pending = iter(jobs)

        async def worker() -> None:
            for job in pending:
                await self._after_recording(job)

        await asyncio.gather(*(worker() for _ in range(min(self.policy.concurrency, len(jobs)))))

    async def _claim(self, post_ids: Sequence[int]) -> list[OutgoingPost]:
        """Lease the still-pending posts among `post_ids` and build what to send.

        Plain column queries rather than ORM objects: a daily run claims hundreds of
        thousands of rows, and this is where the time goes.
        """
        if not post_ids:
            return []
        async with transaction(self._sessions) as session:
            now = self._clock.now()
            sql = await Raw.of(session)
            # The pending, unleased ones among them, locked (PostgreSQL) and leased.
            posts = [
                _ClaimedRow(*row[:-1], sql.load(POSTS.payload, row[-1]))
                for row in await sql.rows(
                    f"SELECT {', '.join(_ClaimedRow._fields)} FROM posts "
                    f"WHERE id IN ({_marks(post_ids)}) AND status = 'pending' "
                    "AND (lease_until IS NULL OR lease_until < ?) ORDER BY id"
                    + (" FOR UPDATE SKIP LOCKED" if sql.postgres else ""),
                    *post_ids,
                    sql.bind(POSTS.lease_until, now),
                )
            ]
            if not posts:
                return []
            claimed = [p.id for p in posts]
            await sql.rows(
                f"UPDATE posts SET lease_until = ? WHERE id IN ({_marks(claimed)})",
                sql.bind(POSTS.lease_until, now + self.policy.lease),
                *claimed,
            )
            grouped = await _grouped_reviews(session, posts)
            faces = await load_faces(
                session, {p.question_id for p in posts} | {g.question_id for g in grouped.values()}
            )
            member_ids = sorted({p.member_id for p in posts if p.member_id is not None})
            members = {
                row[0]: _Recipient(*row)
                for row in (
                    await sql.rows(
                        "SELECT id, external_id, dm_channel_ref FROM members "
                        f"WHERE id IN ({_marks(member_ids)})",
                        *member_ids,
                    )
                    if member_ids
                    else []
                )
            }
        jobs = []
        for post in posts:
            member = members.get(post.member_id)
            follow_up = None
            if post.question_id is not None:
                message: Message = QuestionCard(post.id, faces[post.question_id], post.heading)
            elif post.payload and post.payload.get("type") == "leaderboard":
                message, follow_up = leaderboard_messages(post.payload)
            else:
                message = Text(text=post.text or "")
            job = OutgoingPost(
                post_id=post.id,
                kind=post.kind,
                platform=post.platform,
                message=message,
                channel_ref=post.channel_ref or (member.dm_channel_ref if member else None),
                user_ref=member.external_id if member else "",
                member_id=post.member_id,
                follow_up=follow_up,
            )
            for review in _carried_by(post, grouped):
                with_review(job, QuestionCard(review.id, faces[review.question_id], review.heading))
            jobs.append(job)
        return jobs

    async def _send_one(self, job: OutgoingPost) -> None:
        port = self._ports.get(job.platform)
        if port is None:
            job.error = PlatformError(f"no {job.platform} connection in this process")
            return
        limiter = self.limiter(job.platform)
        for attempt in range(1, self.policy.retry_after_tries + 1):
            waited = await limiter.acquire(job.conversation)
            self._metrics.rate_limit_waited(platform=job.platform, seconds=waited)
            try:
                if job.channel_ref is None:
                    job.sent = await port.send_dm(user_ref=job.user_ref, message=job.message)
                else:
                    job.sent = await port.post(channel_ref=job.channel_ref, message=job.message)
                job.error = None
                return
            except PlatformError as error:
                job.error = error
                if error.retry_after is None or error.permanent:
                    return
                logger.warning(
                    "%s asked to wait %.1fs before post %s (try %d)",
                    job.platform,
                    error.retry_after,
                    job.post_id,
                    attempt,
                )
                limiter.pause(error.retry_after)

    async def _record(self, jobs: list[OutgoingPost]) -> None:
        if not jobs:
            return
        now = self._clock.now()
        # One pass over what may be thousands of deliveries.
        messages: list[tuple] = []  # channel_ref, message_ref, post id
        new_dm_channels: dict[int, str] = {}
        failed: list[OutgoingPost] = []
        delivered: Counter[tuple[str, str]] = Counter()
        for job in jobs:
            sent = job.sent
            if sent is None:
                if job.error is not None:
                    failed.append(job)
                continue
            messages.append((sent.channel_ref, sent.message_ref, job.post_id))
            messages.extend((sent.channel_ref, sent.message_ref, c) for c in job.companions)
            if job.channel_ref is None and job.member_id is not None:
                new_dm_channels[job.member_id] = sent.channel_ref
            delivered[job.platform, job.kind] += 1
        async with transaction(self._sessions) as session:
            await update_by_key(
                session,
                Post.__table__,
                ("channel_ref", "message_ref"),
                messages,
                constants={
                    "status": "sent",
                    "sent_at": now,
                    "lease_until": None,
                    "last_error": None,
                },
            )
            await update_by_key(
                session,
                Member.__table__,
                ("dm_channel_ref",),
                [(channel, member) for member, channel in new_dm_channels.items()],
            )
            for job in failed:
                await self._failed(session, job, now)
        self._held.difference_update(job.post_id for job in jobs)
        self.totals["sent"] += len(messages)
        for (platform, kind), count in delivered.items():
            self._metrics.post_sent(platform=platform, kind=kind, count=count)

    async def _failed(self, session: AsyncSession, job: OutgoingPost, now: datetime) -> None:
        post = await session.get(Post, job.post_id)
        error = job.error
        assert post is not None and error is not None
        post.attempts += 1
        post.last_error = str(error)[:2000]
        post.lease_until = None
        if error.permanent or post.attempts >= self.policy.max_attempts:
            post.status = "failed"
            if job.companions:
                await session.execute(
                    update(Post)
                    .where(Post.id.in_(job.companions))
                    .values(status="failed", last_error=post.last_error)
                    .execution_options(synchronize_session=False)
                )
            self.totals["failed"] += 1
            self._metrics.post_failed(platform=post.platform, kind=post.kind)
            logger.error("post %s (%s) failed for good: %s", post.id, post.key, error)
            await self._consequences(session, post, error, now)
            return
        backoff = self.policy.first_backoff * (2 ** (post.attempts - 1))
        if error.retry_after:
            backoff = max(backoff, timedelta(seconds=error.retry_after))
        post.not_before = now + backoff
        self.totals["retrying"] += 1
        logger.warning(
            "post %s (%s) failed (attempt %d), retrying in %s: %s",
            post.id,
            post.key,
            post.attempts,
            backoff,
            error,
        )

    async def _consequences(
        self, session: AsyncSession, post: Post, error: PlatformError, now: datetime
    ) -> None:
        """A member who cannot be DMed is marked and told once in the team channel; a
        channel the bot cannot post in is switched off and its admin told once."""
        from bot.storage.repository import queue_notice

        if error.code == "dm_closed" and post.member_id is not None:
            member = await session.get(Member, post.member_id)
            if member is None or member.unreachable_at is not None:
                return
            member.unreachable_at = now
            channel = await session.scalar(
                select(Channel)
                .where(Channel.team_id == post.team_id, Channel.daily_enabled)
                .order_by(Channel.id)
                .limit(1)
            )
            if channel is None:
                logger.warning(
                    "member %s does not accept DMs and there is no channel to say so",
                    member.external_id,
                )
                return
            await queue_notice(
                session,
                key=f"unreachable:{member.id}",
                platform=post.platform,
                team_id=post.team_id,
                channel_ref=channel.channel_ref,
                now=now,
                text=(
                    f"{member.display_name}: I cannot send you direct messages, so your daily "
                    "drill is on hold. Allow DMs from drillbot and run /drillbot resume."
                ),
            )
        elif error.code == "channel_gone" and post.channel_ref is not None:
            channel = await session.scalar(
                select(Channel).where(
                    Channel.team_id == post.team_id, Channel.channel_ref == post.channel_ref
                )
            )
            if channel is None or not channel.daily_enabled:
                return
            channel.daily_enabled = False
            channel.next_run_at = None
            admin = await session.scalar(
                select(Member).where(
                    Member.team_id == post.team_id, Member.external_id == channel.updated_by
                )
            )
            if admin is not None:
                await queue_notice(
                    session,
                    key=f"channel-gone:{channel.id}:{now:%Y-%m-%d}",
                    platform=post.platform,
                    team_id=post.team_id,
                    member_id=admin.id,
                    now=now,
                    text=(
                        f"I could not post the daily question in channel "
                        f"{channel.channel_ref} ({error}), so I switched it off. Invite me "
                        "back and run /drillbot channel daily there to start again."
                    ),
                )

    async def _after_recording(self, job: OutgoingPost) -> None:
        """A sent post's extras: the leaderboard's chart in its thread, a card's grade hints."""
        if job.sent is None:
            return
        if job.follow_up is not None:
            try:
                await self._ports[job.platform].upload_image(
                    channel_ref=job.sent.channel_ref,
                    image=job.follow_up,
                    thread_ref=job.sent.message_ref,
                )
            except PlatformError as error:
                logger.warning("could not upload the image for post %s: %s", job.post_id, error)
        if not isinstance(job.message, QuestionCard) or not self.policy.hints_on(job.kind):
            return
        await self.limiter(job.platform).acquire(job.sent.channel_ref)
        try:
            await self._ports[job.platform].add_reactions(
                channel_ref=job.sent.channel_ref,
                message_ref=job.sent.message_ref,
                grades=ALL_GRADES,
            )
        except PlatformError as error:
            logger.warning("could not add grade reactions to post %s: %s", job.post_id, error)
