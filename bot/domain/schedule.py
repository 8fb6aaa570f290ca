"""Local-time schedules: when is the next run, in UTC, for "08:30 Europe/Berlin, weekdays".

Rules for the days clocks change:
- a local time that does not exist that day (spring forward) runs at the next minute
  that does exist (02:30 in Berlin on the last Sunday of March runs at 03:00);
- a local time that exists twice (fall back) runs once, at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)
WEEKDAYS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class LocalSchedule:
    local_time: time
    timezone: str
    days: tuple[int, ...] = WEEKDAYS

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_run(self, *, after: datetime, not_before: date | None = None) -> datetime | None:
        """The first run strictly after `after` (UTC) on a local date >= `not_before`."""
        return next_run(
            after=after,
            local_time=self.local_time,
            timezone=self.timezone,
            days=self.days,
            not_before=not_before,
        )

    def latest_run(self, *, at_or_before: datetime) -> datetime | None:
        """The most recent run at or before `at_or_before`, looking back up to a week."""
        zone = self.zone
        start = at_or_before.astimezone(zone).date()
        for offset in range(0, 8):
            day = start - timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            run = resolve_local(day, self.local_time, zone)
            if run <= at_or_before:
                return run
        return None

    def describe(self) -> str:
        return f"{self.local_time:%H:%M} {self.timezone} on {describe_days(self.days)}"


def resolve_local(day: date, local_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of `local_time` on `day` in `zone`, by the DST rules above."""
    wall = datetime.combine(day, local_time)
    for minutes in range(0, 24 * 60):
        candidate = wall + timedelta(minutes=minutes)
        local = candidate.replace(tzinfo=zone, fold=0)
        instant = local.astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == candidate:
            return instant
    raise ValueError(f"no valid local time near {wall} in {zone}")  # pragma: no cover


def next_run(
    *,
    after: datetime,
    local_time: time,
    timezone: str,
    days: Collection[int],
    not_before: date | None = None,
) -> datetime | None:
    if not days:
        return None
    zone = ZoneInfo(timezone)
    start = after.astimezone(zone).date() - timedelta(days=1)
    if not_before is not None and not_before > start:
        start = not_before
    for offset in range(0, 15):
        day = start + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        run = resolve_local(day, local_time, zone)
        if run > after:
            return run
    return None  # pragma: no cover - 15 days always contain an allowed weekday


def local_date(instant: datetime, timezone: str) -> date:
    return instant.astimezone(ZoneInfo(timezone)).date()


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def describe_days(days: Collection[int]) -> str:
    days = tuple(sorted(days))
    if days == ALL_DAYS:
        return "every day"
    if days == WEEKDAYS:
        return "weekdays"
    if days == (5, 6):
        return "weekends"
    return ",".join(DAY_NAMES[d] for d in days)


def encode_days(days: Collection[int]) -> str:
    return ",".join(str(d) for d in sorted(days))


def decode_days(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part != "")
