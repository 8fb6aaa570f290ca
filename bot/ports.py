"""The ports the core talks through: a chat platform and a clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.grades import Grade
from bot.events import Conversation
from bot.messages import Image, Message


class PlatformError(Exception):
    """A platform refused or failed a call.

    `permanent` errors are not retried. `retry_after` (seconds) is the platform's own
    Retry-After. `code` names the cases the core acts on: ``dm_closed`` (the member does
    not accept DMs) and ``channel_gone`` (the bot cannot post in that channel).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True, kw_only=True)
class Sent:
    """Where a message landed: enough to react to it, update it or thread under it."""

    channel_ref: str
    message_ref: str


class ChatPort(Protocol):
    """Outbound I/O for one platform. Implementations render neutral messages."""

    platform: str

    async def post(
        self, *, channel_ref: str, message: Message, thread_ref: str | None = None
    ) -> Sent: ...

    async def send_dm(self, *, user_ref: str, message: Message) -> Sent: ...

    async def reply(
        self,
        *,
        conversation: Conversation,
        user_ref: str,
        message: Message,
        ephemeral: bool = False,
    ) -> Sent | None: ...

    async def add_reactions(
        self, *, channel_ref: str, message_ref: str, grades: Sequence[Grade]
    ) -> None: ...

    async def update(self, *, channel_ref: str, message_ref: str, message: Message) -> None: ...

    async def upload_image(
        self, *, channel_ref: str, image: Image, thread_ref: str | None = None
    ) -> Sent: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class MetricsSink(Protocol):
    """Where the core reports the numbers operators alert on (Prometheus in production).

    The core only calls these verbs; `bot.ops.metrics.Metrics` exports them, and
    `NO_METRICS` drops them for tests, simulations and benchmarks.
    """

    def post_sent(self, *, platform: str, kind: str, count: int = 1) -> None: ...

    def post_failed(self, *, platform: str, kind: str, count: int = 1) -> None: ...

    def grade_recorded(self, *, platform: str, grade: str) -> None: ...

    def observe_tick_lag(self, *, seconds: float) -> None: ...

    def rate_limit_waited(self, *, platform: str, seconds: float) -> None: ...

    def inbound_dead_letter(self) -> None: ...


class _NoMetrics:
    def post_sent(self, *, platform: str, kind: str, count: int = 1) -> None:
        pass

    def post_failed(self, *, platform: str, kind: str, count: int = 1) -> None:
        pass

    def grade_recorded(self, *, platform: str, grade: str) -> None:
        pass

    def observe_tick_lag(self, *, seconds: float) -> None:
        pass

    def rate_limit_waited(self, *, platform: str, seconds: float) -> None:
        pass

    def inbound_dead_letter(self) -> None:
        pass


NO_METRICS: MetricsSink = _NoMetrics()
