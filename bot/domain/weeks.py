"""ISO weeks in a team's timezone: Monday 00:00 to the next Monday 00:00, local time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def week_label(instant: datetime, timezone: str) -> str:
    local = instant.astimezone(ZoneInfo(timezone))
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(label: str) -> date:
    year, week = label.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def week_bounds(label: str, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where the local week starts and ends (end exclusive)."""
    zone = ZoneInfo(timezone)
    monday = week_monday(label)
    start = datetime.combine(monday, time(), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time(), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def shift_week(label: str, weeks: int) -> str:
    monday = week_monday(label) + timedelta(weeks=weeks)
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def resolve_week(spec: str, *, now: datetime, timezone: str) -> str:
    """`this`, `last` or a label, as the label of a week."""
    current = week_label(now, timezone)
    if spec == "this":
        return current
    if spec == "last":
        return shift_week(current, -1)
    return spec
