"""Rate limiting with a hand-moved clock: how long each send is held, never wall time."""

from __future__ import annotations

from bot.ratelimit import RateLimiter, RateLimits


class ManualTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def limiter(limits: RateLimits, clock: ManualTime) -> RateLimiter:
    return RateLimiter(limits, monotonic=clock.monotonic, sleep=clock.sleep)


async def test_one_message_per_second_per_channel_like_slack() -> None:
    clock = ManualTime()
    slack = limiter(RateLimits(per_channel_per_second=1.0), clock)
    for _ in range(3):
        await slack.acquire("C1")
    await slack.acquire("C2")  # another channel is not held up by C1
    assert clock.slept == [1.0, 1.0]
    assert clock.now == 102.0


async def test_global_rate_like_discord() -> None:
    clock = ManualTime()
    discord = limiter(RateLimits(per_second=50.0, burst=50), clock)
    for index in range(100):
        await discord.acquire(f"D{index}")
    assert clock.now - 100.0 == 1.0  # 50 at once, then 50 more spread over a second


async def test_retry_after_pauses_every_send() -> None:
    clock = ManualTime()
    platform = limiter(RateLimits(), clock)
    platform.pause(7.5)
    waited = await platform.acquire("C1")
    assert waited == 7.5 and platform.waited_seconds == 7.5
    assert await platform.acquire("C2") == 0.0


async def test_unlimited_never_waits() -> None:
    clock = ManualTime()
    platform = limiter(RateLimits(), clock)
    for index in range(1000):
        await platform.acquire(f"C{index % 3}")
    assert clock.slept == []
