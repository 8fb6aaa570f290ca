"""What the benchmarks share: a platform that costs nothing, and which databases to run."""

from __future__ import annotations

import os
from collections.abc import Sequence

from bot.domain.grades import Grade
from bot.events import Conversation
from bot.messages import Image, Message
from bot.ports import Sent


class NullPort:
    """Accepts every send at once: measures drillbot, not a platform."""

    platform = "bench"

    def __init__(self) -> None:
        self.sent = 0

    async def post(
        self, *, channel_ref: str, message: Message, thread_ref: str | None = None
    ) -> Sent:
        self.sent += 1
        return Sent(channel_ref=channel_ref, message_ref=f"m{self.sent}")

    async def send_dm(self, *, user_ref: str, message: Message) -> Sent:
        self.sent += 1
        return Sent(channel_ref=f"D{user_ref}", message_ref=f"m{self.sent}")

    async def reply(
        self,
        *,
        conversation: Conversation,
        user_ref: str,
        message: Message,
        ephemeral: bool = False,
    ) -> Sent | None:
        return None

    async def add_reactions(
        self, *, channel_ref: str, message_ref: str, grades: Sequence[Grade]
    ) -> None:
        return None

    async def update(self, *, channel_ref: str, message_ref: str, message: Message) -> None:
        return None

    async def upload_image(
        self, *, channel_ref: str, image: Image, thread_ref: str | None = None
    ) -> Sent:
        return Sent(channel_ref=channel_ref, message_ref="img")


def chosen_databases(choice: str) -> list[str]:
    """The databases `--db` names, without PostgreSQL when no server is configured."""
    databases = ["sqlite", "postgresql"] if choice == "both" else [choice]
    if "postgresql" in databases and not (
        os.environ.get("DRILLBOT_BENCH_DATABASE_URL")
        or os.environ.get("DRILLBOT_TEST_DATABASE_URL")
    ):
        print("PostgreSQL skipped: set DRILLBOT_BENCH_DATABASE_URL")
        databases.remove("postgresql")
    return databases
