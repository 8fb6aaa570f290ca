"""The core: `handle(event)` is the only way in for adapters.

Every handler does its database work in one transaction that also records the event id
(so a platform's retry changes nothing twice), and talks to the platform only after the
commit: a crash can then lose a reply but never a grade, and outbox rows resume.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bank.loader import Bank
from bot.commands import CORE_COMMANDS, CommandCatalog, help_text
from bot.config import Settings
from bot.dispatch import BankView, new_post_values
from bot.domain.grades import Grade
from bot.domain.selection import CandidatePool, Filters, SelectionRules, select_questions
from bot.events import (
    Actor,
    ButtonPressed,
    CommandInvoked,
    Conversation,
    Event,
    ReactionAdded,
    ReactionRemoved,
)
from bot.grading import GradeOutcome, record_grade, remove_grade
from bot.inbound import journal
from bot.inbound.codec import decode, encode
from bot.inbound.journal import actor_key
from bot.keyed_locks import KeyedLocks
from bot.messages import AnswerReveal, Message, QuestionCard, Text
from bot.outbox import Outbox, OutboxPolicy, OutgoingPost
from bot.ports import NO_METRICS, ChatPort, Clock, MetricsSink, PlatformError
from bot.progress import HANDLERS as PROGRESS_HANDLERS
from bot.ratelimit import RateLimiter
from bot.rounds import HANDLERS as ROUND_HANDLERS
from bot.rounds import RoundSettings, after_grade
from bot.schedule_commands import HANDLERS as SCHEDULE_HANDLERS
from bot.srs import Srs
from bot.storage.bulk import insert_rows_ignoring_conflicts
from bot.storage.database import transaction
from bot.storage.models import Post, Question
from bot.storage.raw import Raw
from bot.storage.repository import (
    PostRef,
    ensure_member,
    ensure_team,
    find_posts_by_message,
    last_shown,
    post_by_id,
    review_dues,
    reviews_since,
    shares_message,
    sync_questions,
)

logger = logging.getLogger(__name__)

# A stored event still pending this long after it arrived was cut off (a crash, a stop)
# or left by another replica; the tick processes it.
RECOVERY_AGE = timedelta(seconds=30)
PROCESS_ATTEMPTS = 3  # tries of one event that conflicts with another process
PRUNE_EVERY = timedelta(hours=1)
BACKLOG_PAUSE = timedelta(milliseconds=100)  # added to each acknowledgement over the limit

DIGEST_REACTION_HINT = Text(
    text="That message holds several reviews, so a reaction cannot tell which one you "
    "graded: press the buttons under each review, or use /grade <card> strong|lean|no."
)

REASON_LABELS = {"due": "review", "new": "new", "ahead": "early review"}


@dataclass(frozen=True)
class Who:
    """The member behind an event, resolved once per event."""

    member_id: int
    team_id: int
    actor: Actor
    timezone: str
    team_timezone: str
    schedule: str | None = None  # the member's review schedule ("fixed"), if subscribed
    dm_channel_ref: str | None = None  # their DM channel, once a DM has been sent

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


Handler = Callable[
    [CommandInvoked, Who, AsyncSession], Awaitable[Callable[[], Awaitable[None]] | None]
]


class DrillService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        ports: Mapping[str, ChatPort],
        clock: Clock,
        bank: Bank,
        settings: Settings,
        catalog: CommandCatalog = CORE_COMMANDS,
        metrics: MetricsSink = NO_METRICS,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics
        self.ports = ports
        self.clock = clock
        self.bank = bank
        self.settings = settings
        self.catalog = catalog
        self.srs = Srs(desired_retention=settings.srs.desired_retention)
        # The source banks' fixed plan, for members who pick `schedule=fixed`.
        self.fixed_srs = Srs(desired_retention=settings.srs.desired_retention, schedule="fixed")
        self.postgres = sessions.kw["bind"].dialect.name == "postgresql"
        self.outbox = Outbox(
            sessions=sessions,
            ports=ports,
            clock=clock,
            postgres=self.postgres,
            metrics=metrics,
            policy=OutboxPolicy(reaction_hints=settings.grades.reaction_hints),
            limiters={
                name: RateLimiter(limits) for name, limits in settings.rate_limits.limits().items()
            },
        )
        self.rules = SelectionRules(
            max_reviews=settings.srs.max_reviews_per_day,
            repeat_gap=timedelta(days=settings.srs.repeat_gap_days),
        )
        self._commands: dict[str, Handler] = {
            "help": self._help,
            "drill": self._drill,
            "reveal": self._reveal_command,
            "grade": self._grade_command,
        }
        for handlers in (SCHEDULE_HANDLERS, ROUND_HANDLERS, PROGRESS_HANDLERS):
            for name, handler in handlers.items():
                self._commands[name] = partial(handler, self)
        self.round_settings = RoundSettings()
        self._actor_locks = KeyedLocks()  # one member's events, one at a time, in order
        self._teams: dict[tuple[str, str], tuple[int, str]] = {}  # (id, timezone) by ref
        self._bank: tuple[tuple | None, BankView] | None = None  # (bank stamp, questions)
        self._pruned_at: datetime | None = None
        self._backlog_seen = (float("-inf"), False)  # (when counted, over the limit)
        self.rounds_closed: dict[str, int] = {}
        missing = [c.name for c in catalog if c.name not in self._commands]
        if missing:
            raise ValueError(f"commands without a handler: {', '.join(missing)}")

    # ---- start-up -------------------------------------------------------------------

    async def sync_bank(self) -> None:
        async with transaction(self.sessions) as session:
            report = await sync_questions(session, bank=self.bank, now=self.clock.now())
        logger.info(
            "bank: %d questions (%d added, %d updated, %d retired)",
            report.total,
            report.added,
            report.updated,
            report.retired,
        )

    # ---- the entry point ------------------------------------------------------------

    async def handle(self, event: Event) -> None:
        """Store the event and process it, after anything its sender sent before it.

        When nothing of the sender's is waiting, the event is stored as done and applied
        in one transaction; otherwise it is stored and waits its turn."""
        key = actor_key(event.actor)
        async with self._actor_locks.hold(key):
            applied, after = await self._apply_at_once(event, key)
            if applied:
                await self._answer(key, after)
                return
        await self.process_pending(key)

    async def _apply_at_once(
        self, event: Event, key: str
    ) -> tuple[bool, Callable[[], Awaitable[None]] | None]:
        """(True, what to do after) when the event was applied or was a repeat; False
        when it is stored as pending, behind older events or after a failure (the
        journal's retries and dead letters then take it from there)."""
        now = self.clock.now()
        try:
            async with transaction(self.sessions) as session:
                entry_id = await journal.store(
                    session,
                    platform=event.actor.platform,
                    event_id=event.event_id,
                    key=key,
                    payload=None,
                    now=now,
                    done=True,
                )
                if entry_id is None:
                    logger.info("ignoring repeated event %s", event.event_id)
                    return True, None
                # On PostgreSQL this waits while another replica applies an older one.
                if await journal.claim_oldest(session, key=key) is not None:
                    await journal.defer(session, entry_id=entry_id, payload=encode(event))
                    return False, None
                return True, await self._apply(session, event)
        except (IntegrityError, OperationalError) as error:
            logger.info("event %s conflicted; stored to try again: %s", event.event_id, error)
        except Exception:
            logger.info("event %s failed at once; stored to try again", event.event_id)
        stored = await self.receive(event)
        return not stored, None

    async def _answer(self, key: str, after: Callable[[], Awaitable[None]] | None) -> None:
        """Run what an applied event does once committed (its reply, a card update)."""
        if after is None:
            return
        try:
            await after()
        except PlatformError as error:  # the effects are kept; only the answer failed
            logger.warning("could not answer an event of %s: %s", key, error)

    async def receive(self, event: Event) -> bool:
        """Store the event in the journal: once this returns, acknowledging it loses
        nothing. False when it was stored before (a platform's retry)."""
        async with transaction(self.sessions) as session:
            entry = await journal.store(
                session,
                platform=event.actor.platform,
                event_id=event.event_id,
                key=actor_key(event.actor),
                payload=encode(event),
                now=self.clock.now(),
            )
        if entry is None:
            logger.info("ignoring repeated event %s", event.event_id)
        elif await self._over_backlog():
            # Slower acknowledgements slow the senders (Slack and Discord wait for them)
            # while the backlog is worked off; the event itself is already safe.
            await asyncio.sleep(BACKLOG_PAUSE.total_seconds())
        return entry is not None

    async def _over_backlog(self) -> bool:
        """Whether the journal's backlog passes the limit, counted at most once a second."""
        checked, over = self._backlog_seen
        if time.monotonic() - checked >= 1.0:
            over = await self.inbound_backlog() > self.settings.inbound.backlog_limit
            self._backlog_seen = (time.monotonic(), over)
        return over

    async def process_pending(self, key: str) -> None:
        """Process one member's stored events, oldest first, each in the transaction of
        its effects; replies go out after each commit."""
        async with self._actor_locks.hold(key):
            more = True
            while more:
                more, after = await self._process_next(key)
                await self._answer(key, after)

    async def process_backlog(self, *, min_age: timedelta = RECOVERY_AGE) -> int:
        """Process events stored at least `min_age` ago and still pending: what a crash or
        a stop cut off, or what another replica left. Returns how many members had some."""
        async with transaction(self.sessions) as session:
            keys = await journal.pending_keys(
                session, received_before=self.clock.now() - min_age + timedelta(microseconds=1)
            )
        for key in keys:
            await self.process_pending(key)
        return len(keys)

    async def inbound_backlog(self) -> int:
        """Events stored and not yet processed, by every instance."""
        async with transaction(self.sessions) as session:
            return (await journal.counts(session))[journal.PENDING]

    async def prune_journal(self) -> int:
        """Drop processed events older than the retention period (at most hourly)."""
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return 0
        self._pruned_at = now
        retention = timedelta(days=self.settings.inbound.retention_days)
        async with transaction(self.sessions) as session:
            return await journal.prune(session, processed_before=now - retention)

    async def _process_next(self, key: str) -> tuple[bool, Callable[[], Awaitable[None]] | None]:
        """Apply the member's oldest stored event and mark it done, in one transaction
        that also says whether more are waiting. A conflict with another process retries
        the whole event; an event that keeps failing is kept as a dead letter."""
        error_text, entry = "", None
        for attempt in range(1, PROCESS_ATTEMPTS + 1):
            try:
                async with transaction(self.sessions) as session:
                    entry = await journal.claim_oldest(session, key=key)
                    if entry is None:
                        return False, None  # none left (or another process has it)
                    after = await self._apply(session, decode(entry.payload or {}))
                    await journal.mark_done(session, entry_id=entry.id, now=self.clock.now())
                    more = await journal.has_pending(session, key=key, after_id=entry.id)
                return more, after
            except (IntegrityError, OperationalError) as error:
                error_text = f"{type(error).__name__}: {error}"
                logger.info("an event of %s conflicted (try %d): %s", key, attempt, error)
            except Exception as error:
                error_text = f"{type(error).__name__}: {error}"
                logger.exception("could not process event %s", entry.event_id if entry else key)
                break
        if entry is None:
            return False, None
        async with transaction(self.sessions) as session:
            await journal.mark_failed(
                session, entry_id=entry.id, error=error_text, now=self.clock.now(), dead=True
            )
        self.metrics.inbound_dead_letter()
        logger.error("event %s kept failing and is kept as a dead letter", entry.event_id)
        return True, None

    async def _apply(self, session: AsyncSession, event: Event):
        """The event's effects, in `session`; returns what to do once they are committed."""
        who = await self._resolve(session, event.actor, self.clock.now())
        match event:
            case CommandInvoked():
                return await self._command(event, who, session)
            case ReactionAdded():
                return await self._grade_message(event, who, session, event.grade)
            case ReactionRemoved():
                return await self._ungrade_message(event, who, session)
            case ButtonPressed():
                return await self._button(event, who, session)
        return None

    async def _resolve(self, session: AsyncSession, actor: Actor, now: datetime) -> Who:
        team_key = (actor.platform, actor.team_ref)
        known = self._teams.get(team_key)
        if known is None:
            team, created = await ensure_team(
                session,
                platform=actor.platform,
                team_ref=actor.team_ref,
                now=now,
                timezone=self.settings.team.timezone,
                name=self.settings.team.name,
            )
            known = (team.id, team.timezone or "UTC")
            if not created:  # a committed team row never changes or goes away: keep it
                self._teams[team_key] = known
        team_id, team_timezone = known
        member = await ensure_member(session, team_id=team_id, actor=actor, now=now)
        return Who(
            member_id=member.id,
            team_id=team_id,
            actor=actor,
            timezone=member.timezone or team_timezone,
            team_timezone=team_timezone,
            schedule=member.schedule,
            dm_channel_ref=member.dm_channel_ref,
        )

    async def _command(self, event: CommandInvoked, who: Who, session: AsyncSession):
        command = self.catalog.get(event.command)
        if command is None:
            return self.reply_later(
                event, Text(text=f"Unknown command /{event.command}. Type /help.")
            )
        if command.admin_only and not who.actor.is_admin:
            return self.reply_later(event, Text(text=f"Only admins can use /{command.name}."))
        return await self._commands[command.name](event, who, session)

    def reply_later(self, event: Event, message: Message):
        async def send() -> None:
            await self.reply(event, message)

        return send

    async def send_text_dm(self, actor: Actor, message: Message):
        """Reach a member in their DM when they asked for something personal in a channel."""
        return await self.ports[actor.platform].send_dm(user_ref=actor.user_ref, message=message)

    def note_round_closed(self, status: str) -> None:
        self.rounds_closed[status] = self.rounds_closed.get(status, 0) + 1

    def _then(self, first, second):
        """Run two after-commit steps in order (either may be None)."""
        if first is None or second is None:
            return first or second

        async def both() -> None:
            await first()
            await second()

        return both

    async def reply(self, event: Event, message: Message) -> None:
        port = self.ports[event.actor.platform]
        await port.reply(
            conversation=event.conversation,
            user_ref=event.actor.user_ref,
            message=message,
            ephemeral=not event.conversation.is_dm,
        )

    # ---- commands -------------------------------------------------------------------

    async def _help(self, event: CommandInvoked, who: Who, session: AsyncSession):
        return self.reply_later(event, Text(text=help_text(self.catalog)))

    async def _drill(self, event: CommandInvoked, who: Who, session: AsyncSession):
        now = self.clock.now()
        count = event.args.get("count") or self.settings.drill.default_count
        track, level = event.args.get("track"), event.args.get("level")
        filters = Filters(tracks=(track,) if track else (), levels=(level,) if level else ())
        picked = await self._pick(
            session,
            who,
            now=now,
            count=count,
            filters=filters,
            seed=f"{who.member_id}:{event.event_id}",
        )
        if not picked:
            return self.reply_later(
                event,
                Text(
                    text="Nothing fits right now: you have seen every matching question recently. "
                    "Try another track or level, or come back tomorrow."
                ),
            )
        # Inserted already leased, and sent from here without claiming them again (as the
        # daily run does): should the process stop before they are out, the lease runs
        # out and the outbox sends them then.
        rows = [
            (
                f"drill:{who.member_id}:{event.event_id}:{position}",
                question_id,
                position,
                f"Drill {position}/{len(picked)} · {REASON_LABELS[reason]}",
            )
            for position, (question_id, reason) in enumerate(picked, start=1)
        ]
        inserted = dict(
            await insert_rows_ignoring_conflicts(
                session,
                Post.__table__,
                ("key", "question_id", "position", "heading"),
                rows,
                constants={
                    "kind": "drill",
                    "platform": who.actor.platform,
                    "team_id": who.team_id,
                    "member_id": who.member_id,
                    "channel_ref": None,
                    "status": "pending",
                    "lease_until": now + self.outbox.policy.lease,
                }
                | new_post_values(now, status=None),
                conflict_column="key",
                returning=("key", "id"),
            )
        )
        faces = (await self.bank_view(session)).faces
        jobs = [
            OutgoingPost(
                inserted[key],
                "drill",
                who.actor.platform,
                QuestionCard(inserted[key], faces[question_id], heading),
                who.dm_channel_ref,
                who.actor.user_ref,
                who.member_id,
            )
            for key, question_id, _, heading in rows
            if key in inserted
        ]
        reviews = sum(1 for _, reason in picked if reason == "due")
        summary = (
            f"*Drill: {len(picked)} question{'s' if len(picked) != 1 else ''}* "
            f"({reviews} due for review, {len(picked) - reviews} new or early). "
            "Answer out loud or on paper, open the model answer, then grade yourself "
            "🟢 Strong / 🟡 Lean / 🔴 No Hire."
        )

        async def send() -> None:
            if event.conversation.is_dm:
                await self.reply(event, Text(text=summary))
            await self.outbox.send_claimed(jobs)
            if not event.conversation.is_dm:
                sent = f"{len(jobs)} question{'s' if len(jobs) != 1 else ''}"
                await self.reply(event, Text(text=f"Sent you {sent} in a DM."))

        return send

    async def _pick(
        self,
        session: AsyncSession,
        who: Who,
        *,
        now: datetime,
        count: int,
        filters: Filters,
        seed: str,
    ) -> list[tuple[str, str]]:
        pool = await self.candidate_pool(session)
        shown = await last_shown(
            session, member_id=who.member_id, since=now - self.rules.repeat_gap
        )
        today = now.astimezone(who.zone).date()
        local_midnight = datetime.combine(today, datetime.min.time(), tzinfo=who.zone)
        end_of_day = datetime.combine(
            today + timedelta(days=1), datetime.min.time(), tzinfo=who.zone
        )
        reviews_today = await reviews_since(session, member_id=who.member_id, since=local_midnight)
        picked = select_questions(
            candidates=pool,
            due_at=await review_dues(session, member_id=who.member_id),
            last_shown=shown,
            now=now,
            count=count,
            filters=filters,
            rules=self.rules,
            reviews_today=reviews_today,
            seed=seed,
            due_by=end_of_day,
        )
        return [(p.question_id, p.reason) for p in picked]

    async def candidate_pool(self, session: AsyncSession) -> CandidatePool:
        return (await self.bank_view(session)).pool

    async def bank_view(self, session: AsyncSession) -> BankView:
        """The active questions as selection and cards see them, read again only when
        the bank in the database changed (a replica started with another version): each
        /drill used to read and parse every question."""
        sql = await Raw.of(session)
        stamp = await sql.one(
            "SELECT count(id), max(synced_at) FROM questions WHERE active = ?",
            sql.bind(Question.__table__.c.active, True),
        )
        if self._bank is None or self._bank[0] != stamp:
            self._bank = (stamp, await BankView().load(session))
        return self._bank[1]

    async def _reveal_command(self, event: CommandInvoked, who: Who, session: AsyncSession):
        post = await self._visible_post(session, who, event.args["card"])
        if post is None:
            return self.reply_later(event, self._no_card(event.args["card"]))
        reveal = await self._reveal_message(session, post)
        return self.reply_later(event, reveal)

    async def _grade_command(self, event: CommandInvoked, who: Who, session: AsyncSession):
        card_number = event.args["card"]
        post = await self._visible_post(session, who, card_number)
        if post is None:
            return self.reply_later(event, self._no_card(card_number))
        grade = Grade(event.args["grade"])
        return await self._grade_and_answer(event, who, session, post, grade, source="command")

    # ---- reactions and buttons ------------------------------------------------------

    async def _grade_message(
        self, event: ReactionAdded | ButtonPressed, who: Who, session: AsyncSession, grade: Grade
    ):
        post, shared = await self._post_for(session, event)
        if post is None or not self._may_grade(post, who):
            return self._hint_not_a_card(event)
        if shared:
            return self.reply_later(event, DIGEST_REACTION_HINT)
        source = "button" if isinstance(event, ButtonPressed) else "reaction"
        return await self._grade_and_answer(event, who, session, post, grade, source=source)

    async def _grade_and_answer(
        self,
        event: Event,
        who: Who,
        session: AsyncSession,
        post: Post,
        grade: Grade,
        *,
        source: str,
    ):
        """Record the grade, then (once committed) confirm it and move a round on."""
        outcome = await self._record(session, who, post, grade, source=source)
        study = await self._study_pointer(session, post, outcome)
        reply = self.reply_later(event, self._grade_text(post, outcome, study=study))
        return self._then(
            reply, await after_grade(self, session, post=post, member_id=who.member_id)
        )

    async def _ungrade_message(self, event: ReactionRemoved, who: Who, session: AsyncSession):
        post, shared = await self._post_for(session, event)
        if post is None or not self._may_grade(post, who):
            return self._hint_not_a_card(event)
        if shared:
            return None  # a reaction on a review digest graded nothing, so undoes nothing
        outcome = await remove_grade(
            session,
            member_id=who.member_id,
            post=post,
            grade=event.grade,
            now=self.clock.now(),
            source="reaction",
        )
        if outcome.action == "absent":
            if event.grade is not None:
                return None  # e.g. took away a 🟢 that a later 🔴 had already replaced
            return self.reply_later(
                event, Text(text=f"You had no grade on card #{post.id}; nothing changed.")
            )
        return self.reply_later(event, Text(text=f"Removed your grade on card #{post.id}."))

    async def _button(self, event: ButtonPressed, who: Who, session: AsyncSession):
        if event.action == "grade" and event.grade is not None:
            return await self._grade_message(event, who, session, event.grade)
        post = await self._visible_post(session, who, event.post_id)
        if post is None:
            return self.reply_later(event, self._no_card(event.post_id))
        reveal = await self._reveal_message(session, post)
        # A DM card turns into its answer; a review digest stays, so its other reviews
        # keep their buttons, and the answer comes as a reply.
        if event.conversation.is_dm and not await shares_message(session, post):
            port = self.ports[event.actor.platform]

            async def update() -> None:
                await port.update(
                    channel_ref=event.conversation.channel_ref,
                    message_ref=event.message_ref,
                    message=reveal,
                )

            return update
        return self.reply_later(event, reveal)

    # ---- helpers --------------------------------------------------------------------

    async def _record(
        self, session: AsyncSession, who: Who, post: Post, grade: Grade, *, source: str
    ) -> GradeOutcome:
        outcome = await record_grade(
            session,
            srs=self.fixed_srs if who.schedule == "fixed" else self.srs,
            member_id=who.member_id,
            post=post,
            grade=grade,
            now=self.clock.now(),
            source=source,
        )
        if outcome.action in ("added", "changed"):
            self.metrics.grade_recorded(platform=who.actor.platform, grade=grade.value)
        return outcome

    async def _post_for(
        self, session: AsyncSession, event: ReactionAdded | ReactionRemoved | ButtonPressed
    ) -> tuple[Post | None, bool]:
        """The card the event is about, and whether its message holds other cards too
        (a review digest: a reaction there cannot say which one it grades)."""
        if isinstance(event, ButtonPressed):
            return await post_by_id(session, event.post_id), False
        posts = await find_posts_by_message(
            session,
            platform=event.actor.platform,
            message_ref=event.message_ref,
            channel_ref=event.conversation.channel_ref,
            limit=2,
        )
        return (posts[0] if posts else None), len(posts) > 1

    async def _visible_post(self, session: AsyncSession, who: Who, post_id: int) -> PostRef | None:
        post = await post_by_id(session, post_id)
        if post is None or post.question_id is None or not self._may_grade(post, who):
            return None
        return post

    @staticmethod
    def _may_grade(post: Post, who: Who) -> bool:
        """DM cards belong to their recipient; channel cards to everyone in the team."""
        if post.question_id is None or post.team_id != who.team_id:
            return False
        return post.member_id is None or post.member_id == who.member_id

    def _hint_not_a_card(self, event: Event):
        if not event.conversation.is_dm:
            return None  # reactions on ordinary channel messages are none of our business
        ref = getattr(event, "message_ref", "?")
        return self.reply_later(
            event,
            Text(
                text=f"There is no card #{ref} of yours to grade. "
                "Cards show their number in their heading."
            ),
        )

    @staticmethod
    def _no_card(number: int) -> Text:
        return Text(
            text=f"There is no card #{number} of yours. Cards show their number in "
            "their heading; /drill gets new ones."
        )

    async def _reveal_message(self, session: AsyncSession, post: PostRef) -> AnswerReveal:
        # The bank in memory, or the database for a question since retired from it.
        loaded = self.bank.get(post.question_id or "")
        if loaded is not None:
            data = loaded.model_dump(mode="json")
        else:
            question = await session.get(Question, post.question_id)
            data = question.data
        rubric = data["rubric"]
        return AnswerReveal(
            post_id=post.id,
            question_id=data["id"],
            prompt=data["prompt"],
            answer=data["answer"],
            rubric={
                Grade.STRONG: rubric["strong"],
                Grade.LEAN: rubric["lean"],
                Grade.NO: rubric["no"],
            },
            follow_ups=tuple(data.get("follow_ups") or ()),
            red_flags=tuple(data.get("red_flags") or ()),
            study=data.get("study") or "",
        )

    async def _study_pointer(self, session: AsyncSession, post: Post, outcome: GradeOutcome) -> str:
        """What to study after a No Hire (the question is read only then)."""
        if outcome.grade is not Grade.NO or outcome.action == "unchanged":
            return ""
        question = self.bank.get(post.question_id or "")
        if question is not None:
            return question.study
        data = await session.scalar(select(Question.data).where(Question.id == post.question_id))
        return (data or {}).get("study") or ""

    def _grade_text(self, post: Post, outcome: GradeOutcome, *, study: str) -> Text:
        grade = outcome.grade
        assert grade is not None
        if outcome.action == "unchanged":
            return Text(text=f"Card #{post.id} is already graded {grade.emoji} {grade.label}.")
        if outcome.action == "changed":
            lines = [f"Card #{post.id} changed to {grade.emoji} {grade.label}."]
        else:
            lines = [f"{grade.emoji} {grade.label} recorded for card #{post.id}."]
        if outcome.next_due is not None:
            lines.append(f"Next review: {self._when(outcome.next_due)}.")
        if grade is Grade.NO and study:
            lines.append(f"Study next: {study}.")
        return Text(text=" ".join(lines))

    def _when(self, due: datetime) -> str:
        days = (due.date() - self.clock.now().date()).days
        if days <= 0:
            return f"today ({due:%Y-%m-%d})"
        if days == 1:
            return f"tomorrow ({due:%Y-%m-%d})"
        return f"in {days} days ({due:%Y-%m-%d})"


def console_actor(settings: Settings) -> Actor:
    console = settings.console
    return Actor(
        platform="console",
        team_ref="console",
        user_ref=console.user,
        display_name=console.display_name,
        is_admin=console.admin,
        timezone=console.timezone,
    )


def console_dm(settings: Settings) -> Conversation:
    return Conversation(channel_ref=f"dm-{settings.console.user}", is_dm=True)
