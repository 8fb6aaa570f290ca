"""lean post indexes: partial indexes for pending, sent and mock-round posts

Every daily run writes four posts per member, so each index on posts is paid for on
hundreds of thousands of rows. The team and question indexes served no query (teams and
questions are never deleted), and the others now hold only the rows their queries need.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PARTIAL = {
    "ix_posts_message": (["platform", "channel_ref", "message_ref"], "message_ref IS NOT NULL"),
    "ix_posts_pending": (["not_before"], "status = 'pending'"),
    "ix_posts_round_id": (["round_id"], "round_id IS NOT NULL"),
}


def upgrade() -> None:
    for name in ("ix_posts_team_id", "ix_posts_question_id", "ix_posts_round_id"):
        op.drop_index(name, table_name="posts")
    op.drop_index("ix_posts_message", table_name="posts")
    op.drop_index("ix_posts_status_due", table_name="posts")
    for name, (columns, where) in PARTIAL.items():
        op.create_index(
            name,
            "posts",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name in PARTIAL:
        op.drop_index(name, table_name="posts")
    op.create_index("ix_posts_status_due", "posts", ["status", "not_before"])
    op.create_index("ix_posts_message", "posts", ["platform", "channel_ref", "message_ref"])
    op.create_index("ix_posts_round_id", "posts", ["round_id"])
    op.create_index("ix_posts_question_id", "posts", ["question_id"])
    op.create_index("ix_posts_team_id", "posts", ["team_id"])
