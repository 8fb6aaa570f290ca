"""A member's DM channel id, opened once and then cached: shared by the Slack and
Discord ports, where opening a DM is one platform call we want to make once per member."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable


class DmChannels:
    """An LRU cache of user -> DM channel id with single-flight opening.

    The outbox sends a member's cards concurrently; the first send opens the channel and
    the others wait for that one call instead of each opening it again.
    """

    def __init__(self, *, open_dm: Callable[[str], Awaitable[str]], size: int) -> None:
        self._open_dm = open_dm
        self._size = size
        self._known: OrderedDict[str, str] = OrderedDict()
        self._opening: dict[str, asyncio.Future[str]] = {}

    async def get(self, user_ref: str) -> str:
        cached = self._known.get(user_ref)
        if cached is not None:
            self._known.move_to_end(user_ref)
            return cached
        opening = self._opening.get(user_ref)
        if opening is None:
            opening = asyncio.ensure_future(self._open(user_ref))
            self._opening[user_ref] = opening
            opening.add_done_callback(lambda _: self._opening.pop(user_ref, None))
        return await asyncio.shield(opening)

    async def _open(self, user_ref: str) -> str:
        channel_ref = await self._open_dm(user_ref)
        self._known[user_ref] = channel_ref
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return channel_ref
