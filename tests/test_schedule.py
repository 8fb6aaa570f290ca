"""Local-time schedule math, DST included, across far-apart timezones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.schedule import ALL_DAYS, WEEKDAYS, LocalSchedule, describe_days


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_next_run_is_the_local_time_converted_to_utc() -> None:
    schedule = LocalSchedule(time(8, 30), "Europe/Berlin", ALL_DAYS)
    assert schedule.next_run(after=utc(2026, 11, 23, 6, 0)) == utc(2026, 11, 23, 7, 30)
    assert schedule.next_run(after=utc(2026, 11, 23, 7, 30)) == utc(2026, 11, 24, 7, 30)


def test_weekdays_skip_the_weekend() -> None:
    schedule = LocalSchedule(time(9, 0), "UTC", WEEKDAYS)
    friday_after = utc(2026, 11, 27, 10, 0)
    assert schedule.next_run(after=friday_after) == utc(2026, 11, 30, 9, 0)  # Monday


def test_spring_forward_runs_at_the_next_valid_minute_in_berlin() -> None:
    schedule = LocalSchedule(time(2, 30), "Europe/Berlin", ALL_DAYS)
    run = schedule.next_run(after=utc(2026, 3, 28, 12, 0))
    assert run == utc(2026, 3, 29, 1, 0)  # 03:00 CEST, the first minute after the gap
    assert run.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "03:00"
    assert schedule.next_run(after=run) == utc(2026, 3, 30, 0, 30)  # back to 02:30 CEST


def test_fall_back_runs_once_at_the_first_occurrence_in_new_york() -> None:
    schedule = LocalSchedule(time(1, 30), "America/New_York", ALL_DAYS)
    first = schedule.next_run(after=utc(2026, 10, 31, 12, 0))
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    second = schedule.next_run(after=first)
    assert second == utc(2026, 11, 2, 6, 30)  # next day 01:30 EST, not 01:30 EST the same night


def test_spring_forward_in_new_york() -> None:
    schedule = LocalSchedule(time(2, 15), "America/New_York", ALL_DAYS)
    assert schedule.next_run(after=utc(2026, 3, 7, 12, 0)) == utc(2026, 3, 8, 7, 0)  # 03:00 EDT


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Pacific/Kiritimati", utc(2026, 11, 22, 18, 0)),  # UTC+14: Monday 08:00 is Sunday UTC
        ("Pacific/Pago_Pago", utc(2026, 11, 23, 19, 0)),  # UTC-11
    ],
)
def test_far_timezones_land_on_the_right_utc_day(zone: str, expected: datetime) -> None:
    schedule = LocalSchedule(time(8, 0), zone, (0,))  # Mondays only
    assert schedule.next_run(after=utc(2026, 11, 22, 0, 0)) == expected
    local = expected.astimezone(ZoneInfo(zone))
    assert (local.weekday(), local.hour) == (0, 8)


def test_not_before_skips_paused_days() -> None:
    schedule = LocalSchedule(time(8, 0), "UTC", ALL_DAYS)
    run = schedule.next_run(after=utc(2026, 11, 23, 9, 0), not_before=date(2026, 12, 1))
    assert run == utc(2026, 12, 1, 8, 0)


def test_latest_run_looks_back_to_the_last_occurrence() -> None:
    schedule = LocalSchedule(time(8, 0), "UTC", WEEKDAYS)
    assert schedule.latest_run(at_or_before=utc(2026, 11, 29, 12, 0)) == utc(2026, 11, 27, 8, 0)


def test_days_read_like_people_write_them() -> None:
    assert describe_days(ALL_DAYS) == "every day"
    assert describe_days(WEEKDAYS) == "weekdays"
    assert describe_days((0, 2)) == "mon,wed"


ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "UTC",
]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    days=st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s))),
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1)),
)
def test_runs_are_in_the_future_on_allowed_days_once_per_local_day(zone, hour, minute, days, start):
    schedule = LocalSchedule(time(hour, minute), zone, days)
    after = start.replace(tzinfo=UTC)
    seen_dates = set()
    for _ in range(10):
        run = schedule.next_run(after=after)
        assert run > after
        local = run.astimezone(ZoneInfo(zone))
        assert local.weekday() in days
        assert local.time() >= time(hour, minute)  # on time, or pushed past a DST gap
        assert local.date() not in seen_dates
        seen_dates.add(local.date())
        assert run - after <= timedelta(days=8)
        after = run
