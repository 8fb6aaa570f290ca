"""The database schema. Change it only together with a migration in migrations/versions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Team(Base):
    """A workspace (Slack), a server (Discord) or the console: members and channels live in one."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_teams_platform_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("team_id", "external_id", name="uq_members_team_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dm_channel_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    leaderboard_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Question(Base):
    """A bank question as last synced; `data` holds the whole validated entry."""

    __tablename__ = "questions"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    track: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(32), index=True)
    time_limit_s: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime())


def partial_index(name: str, *columns: str, where: str) -> Index:
    """An index holding only the rows `where` (SQL) selects, on both databases."""
    return Index(name, *columns, sqlite_where=sql_text(where), postgresql_where=sql_text(where))


class Post(Base):
    """The outbox: one row per message the bot sends, keyed so it is never sent twice.

    Insert first (status ``pending``), send, then record the platform's message ref
    (status ``sent``). A restart resends ``pending`` rows; the unique key stops doubles.
    """

    __tablename__ = "posts"
    # A daily run writes hundreds of thousands of rows, so every index here is paid for
    # on each of them. Partial indexes hold only the rows their queries look for: posts
    # still to send, posts that have a message, posts of a mock round. The message index
    # leads with the message id, which platforms hand out in time order, so a batch's
    # entries land together at its end rather than all over it.
    __table_args__ = (
        partial_index(
            "ix_posts_message",
            "platform",
            "message_ref",
            "channel_ref",
            where="message_ref IS NOT NULL",
        ),
        partial_index("ix_posts_pending", "not_before", where="status = 'pending'"),
        partial_index("ix_posts_round_id", "round_id", where="round_id IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), nullable=True, index=True
    )
    channel_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    question_id: Mapped[str | None] = mapped_column(ForeignKey("questions.id"), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    heading: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    message_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# Written out rather than bound as a parameter, so the planner can use ix_posts_pending.
POST_IS_PENDING = Post.status == literal_column("'pending'")


class Grade(Base):
    """A member's current self-grade on one post; history lives in grade_events."""

    __tablename__ = "grades"
    __table_args__ = (
        UniqueConstraint("post_id", "member_id", name="uq_grades_post_member"),
        # Covers a member's grades in a time range: the leaderboard's weekly mean, stats.
        Index("ix_grades_member_time", "member_id", "graded_at", "grade"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), index=True)
    grade: Mapped[str] = mapped_column(String(16))
    card_before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    review_log_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GradeEvent(Base):
    """Every add, change and removal of a grade, in order."""

    __tablename__ = "grade_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str | None] = mapped_column(String(16), nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="reaction")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class SrsCard(Base):
    """One FSRS card per member and question, stored as fsrs' own JSON."""

    __tablename__ = "srs_cards"
    __table_args__ = (
        UniqueConstraint("member_id", "question_id", name="uq_srs_cards_member_question"),
        Index("ix_srs_cards_member_due", "member_id", "due"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"))
    card: Mapped[dict] = mapped_column(JSON)
    due: Mapped[datetime] = mapped_column(UTCDateTime())
    last_review: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reviews: Mapped[int] = mapped_column(Integer, default=0)


class ReviewLog(Base):
    """Every FSRS review, kept for the optimizer; a changed grade supersedes its old log."""

    __tablename__ = "review_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), nullable=True
    )
    rating: Mapped[int] = mapped_column(Integer)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    log: Mapped[dict] = mapped_column(JSON)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)


class InboundEvent(Base):
    """The inbound journal: every event a platform delivered, stored before it is
    acknowledged, in arrival order (`id`).

    ``pending`` until processed; ``done`` once its effects are committed, in the same
    transaction (the payload is then dropped: only the id stays, so that a platform's
    retry is recognised); ``dead`` when it kept failing, with its error. `actor_key`
    (platform, team and user) keeps each member's events in order and lets forget-me
    find them.
    """

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("platform", "event_id", name="uq_inbound_events_platform_event"),
        partial_index("ix_inbound_events_pending", "actor_key", "id", where="status = 'pending'"),
        Index("ix_inbound_events_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    actor_key: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Subscription(Base):
    """A member's daily DM drill. `next_run_at` is recomputed after each run and change."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    local_time: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    days: Mapped[str] = mapped_column(String(20))
    quickfire_count: Mapped[int] = mapped_column(Integer, default=3)
    screening_count: Mapped[int] = mapped_column(Integer, default=1)
    tracks: Mapped[list] = mapped_column(JSON, default=list)
    companies: Mapped[list] = mapped_column(JSON, default=list)
    paused_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    last_local_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    # "fsrs", or "fixed": the source banks' day 3-7-14-21 plan, for teams comparing both.
    schedule: Mapped[str] = mapped_column(String(8), default="fsrs", server_default="fsrs")
    goal_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Drill days that bring due reviews but no new questions ("" for none).
    review_only_days: Mapped[str] = mapped_column(String(20), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Channel(Base):
    """A team channel and its daily shared question, set by admins only."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("team_id", "channel_ref", name="uq_channels_team_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    channel_ref: Mapped[str] = mapped_column(String(128))
    daily_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    local_time: Mapped[str] = mapped_column(String(5), default="09:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    days: Mapped[str] = mapped_column(String(20), default="0,1,2,3,4")
    tracks: Mapped[list] = mapped_column(JSON, default=list)
    levels: Mapped[list] = mapped_column(JSON, default=list)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    last_local_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Round(Base):
    """A mock interview or quick-fire round: a few cards against one deadline."""

    __tablename__ = "rounds"
    __table_args__ = (
        Index("ix_rounds_status_deadline", "status", "deadline"),
        Index("ix_rounds_member_status", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "mock" or "quickfire"
    status: Mapped[str] = mapped_column(String(16), default="active")
    question_ids: Mapped[list] = mapped_column(JSON, default=list)
    track: Mapped[str | None] = mapped_column(String(32), nullable=True)
    company: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RoundWeek(Base):
    """Completed mock rounds per member and ISO week (in the team's timezone).

    Kept up to date when a round completes, so the weekly leaderboard is one indexed
    read, not a scan of every round ever played.
    """

    __tablename__ = "round_weeks"
    __table_args__ = (Index("ix_round_weeks_team_week", "team_id", "week"),)

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # "2026-W47"
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    completed: Mapped[int] = mapped_column(Integer, default=0)
    streak: Mapped[int] = mapped_column(Integer, default=1)  # weeks in a row, ending here
