"""Token buckets for outbound sends, one limiter per platform.

Slack allows about one message per second per channel; Discord about 50 requests per
second for the whole bot. When a platform answers 429 anyway, `pause(retry_after)`
stops every send to that platform until the time it named.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimits:
    """Sends per second for the whole platform and per channel; None means unlimited."""

    per_second: float | None = None
    per_channel_per_second: float | None = None
    burst: int = 1


SLACK_LIMITS = RateLimits(per_second=20.0, per_channel_per_second=1.0, burst=1)
DISCORD_LIMITS = RateLimits(per_second=50.0, per_channel_per_second=5.0, burst=5)
UNLIMITED = RateLimits()


class TokenBucket:
    def __init__(self, *, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.updated = now

    def reserve(self, now: float) -> float:
        """Take one token; return how long to wait before using it (0 if available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """One platform's limits. `acquire` waits for both the global and the channel bucket."""

    MAX_CHANNEL_BUCKETS = 10_000

    def __init__(
        self,
        limits: RateLimits,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._sleep = sleep
        now = monotonic()
        self._global = (
            TokenBucket(rate=limits.per_second, capacity=max(1, limits.burst), now=now)
            if limits.per_second
            else None
        )
        self._channels: OrderedDict[str, TokenBucket] = OrderedDict()
        self._paused_until = 0.0
        self.waited_seconds = 0.0

    def pause(self, seconds: float) -> None:
        """The platform said Retry-After: hold every send until then."""
        self._paused_until = max(self._paused_until, self._monotonic() + max(0.0, seconds))

    async def acquire(self, channel_ref: str) -> float:
        """Wait until one more send is allowed; returns the seconds waited."""
        now = self._monotonic()
        wait = max(0.0, self._paused_until - now)
        if self._global is not None:
            wait = max(wait, self._global.reserve(now))
        if self.limits.per_channel_per_second:
            wait = max(wait, self._channel(channel_ref, now).reserve(now))
        if wait > 0:
            self.waited_seconds += wait
            await self._sleep(wait)
        return wait

    def _channel(self, channel_ref: str, now: float) -> TokenBucket:
        bucket = self._channels.get(channel_ref)
        if bucket is None:
            rate = self.limits.per_channel_per_second or 1.0
            bucket = TokenBucket(rate=rate, capacity=max(1, self.limits.burst), now=now)
            self._channels[channel_ref] = bucket
            if len(self._channels) > self.MAX_CHANNEL_BUCKETS:
                self._channels.popitem(last=False)
        else:
            self._channels.move_to_end(channel_ref)
        return bucket
