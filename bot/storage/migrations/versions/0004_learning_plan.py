"""learning plan: a member's review schedule, interview date and review-only days

`schedule` is "fsrs" or "fixed" (the source banks' day 3-7-14-21 plan); `goal_date`
is the interview date new questions are paced towards; `review_only_days` are the
drill days that bring due reviews but no new questions (the same day encoding as
`days`, empty for none).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("schedule", sa.String(length=8), nullable=False, server_default="fsrs")
        )
        batch_op.add_column(sa.Column("goal_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("review_only_days", sa.String(length=20), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("review_only_days")
        batch_op.drop_column("goal_date")
        batch_op.drop_column("schedule")
