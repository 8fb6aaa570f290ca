"""inbound journal: events are stored before they are acknowledged

`inbound_events` held only the ids of events already handled. It becomes the journal:
each event with its payload, the member it came from and its state, in arrival order.
The ids already handled carry over as done, so a platform's retry of one still changes
nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PENDING = "status = 'pending'"


def upgrade() -> None:
    op.drop_index("ix_inbound_events_received_at", table_name="inbound_events")
    op.rename_table("inbound_events", "inbound_event_ids")
    _rename_primary_key("inbound_event_ids", "pk_inbound_events", "pk_inbound_event_ids")
    op.create_table(
        "inbound_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("actor_key", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_events")),
        sa.UniqueConstraint("platform", "event_id", name="uq_inbound_events_platform_event"),
    )
    op.create_index("ix_inbound_events_received_at", "inbound_events", ["received_at"])
    op.create_index(
        "ix_inbound_events_pending",
        "inbound_events",
        ["actor_key", "id"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )
    op.execute(
        "INSERT INTO inbound_events "
        "(platform, event_id, actor_key, status, attempts, received_at, processed_at) "
        "SELECT platform, event_id, '', 'done', 1, received_at, received_at "
        "FROM inbound_event_ids ORDER BY received_at"
    )
    op.drop_table("inbound_event_ids")


def downgrade() -> None:
    op.create_table(
        "inbound_event_ids",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "event_id", name="pk_inbound_event_ids"),
    )
    op.execute(
        "INSERT INTO inbound_event_ids (platform, event_id, received_at) "
        "SELECT platform, event_id, received_at FROM inbound_events"
    )
    op.drop_table("inbound_events")
    op.rename_table("inbound_event_ids", "inbound_events")
    _rename_primary_key("inbound_events", "pk_inbound_event_ids", "pk_inbound_events")
    op.create_index("ix_inbound_events_received_at", "inbound_events", ["received_at"])


def _rename_primary_key(table: str, old: str, new: str) -> None:
    """PostgreSQL names a primary key's index, and the name stays with a renamed table;
    SQLite's primary keys have no name to clash."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"')
