"""message index by message: look posts up by (platform, message_ref, channel_ref)

Platforms hand out message ids in time order (Slack's ts, Discord's snowflakes), while
channel ids are spread at random. Led by the channel, each batch of a daily run added
its entries all over the index; led by the message, they land together at its end. A
reaction's lookup names all three columns, so either order serves it, and this one also
serves a lookup without the channel.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SENT = "message_ref IS NOT NULL"


def _message_index(columns: list[str]) -> None:
    op.drop_index("ix_posts_message", table_name="posts")
    op.create_index(
        "ix_posts_message",
        "posts",
        columns,
        sqlite_where=sa.text(SENT),
        postgresql_where=sa.text(SENT),
    )


def upgrade() -> None:
    _message_index(["platform", "message_ref", "channel_ref"])


def downgrade() -> None:
    _message_index(["platform", "channel_ref", "message_ref"])
