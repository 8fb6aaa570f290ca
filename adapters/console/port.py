"""The console's ChatPort: prints what the bot sends, labelled by where it went."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from adapters.console.render import render
from bot.domain.grades import Grade
from bot.events import Conversation
from bot.messages import Image, Message, QuestionCard, ReviewDigest
from bot.ports import Sent


class ConsolePort:
    """One terminal plays the team channel (`#study`) and the member's DM (`DM`).

    A card's message ref is its card number, so `react 3 strong` finds card #3 the same
    way a Slack reaction finds its message by timestamp. A review digest is recorded as
    its first item's post, so its ref is that card's number.
    """

    platform = "console"

    def __init__(self, *, out: TextIO, channel: str, charts_dir: Path) -> None:
        self._out = out
        self._channel = channel
        self._charts_dir = charts_dir
        self._counter = itertools.count(1)

    def _label(self, channel_ref: str) -> str:
        return "DM" if channel_ref.startswith("dm-") else f"#{channel_ref}"

    def _print(self, channel_ref: str, text: str) -> None:
        label = self._label(channel_ref)
        lines = text.splitlines() or [""]
        self._out.write(f"[{label}] {lines[0]}\n")
        for line in lines[1:]:
            self._out.write(f"{' ' * (len(label) + 3)}{line}\n")
        self._out.flush()

    def _ref(self, message: Message) -> str:
        if isinstance(message, QuestionCard | ReviewDigest):
            return str(message.post_id)
        return f"m{next(self._counter)}"

    async def post(
        self, *, channel_ref: str, message: Message, thread_ref: str | None = None
    ) -> Sent:
        if isinstance(message, Image):
            return await self.upload_image(channel_ref=channel_ref, image=message)
        self._print(channel_ref, render(message))
        return Sent(channel_ref=channel_ref, message_ref=self._ref(message))

    async def send_dm(self, *, user_ref: str, message: Message) -> Sent:
        return await self.post(channel_ref=f"dm-{user_ref}", message=message)

    async def reply(
        self,
        *,
        conversation: Conversation,
        user_ref: str,
        message: Message,
        ephemeral: bool = False,
    ) -> Sent | None:
        return await self.post(channel_ref=conversation.channel_ref, message=message)

    async def add_reactions(
        self, *, channel_ref: str, message_ref: str, grades: Sequence[Grade]
    ) -> None:
        """The card already prints its grade hint line; nothing more to show."""

    async def update(self, *, channel_ref: str, message_ref: str, message: Message) -> None:
        self._print(channel_ref, render(message))

    async def upload_image(
        self, *, channel_ref: str, image: Image, thread_ref: str | None = None
    ) -> Sent:
        self._charts_dir.mkdir(parents=True, exist_ok=True)
        path = self._charts_dir / image.filename
        path.write_bytes(image.png)
        self._print(channel_ref, f"{image.title or 'chart'}: saved to {path}")
        return Sent(channel_ref=channel_ref, message_ref=self._ref(image))
