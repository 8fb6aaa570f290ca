"""`drillbot simulate`: a small team over a week with DST changes, nothing sent twice or missed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_drillbot


def test_the_readable_summary_shows_coverage(tmp_path: Path) -> None:
    result = run_drillbot(
        "simulate", "--members", "3", "--days", "3", "--seed", "1", cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "of 276 questions seen a member (least" in result.stdout
    assert result.stdout.splitlines()[-1] == "PASS: every scheduled drill was sent, once."
    assert "{" not in result.stdout  # sentences, not dict printouts (JSON is --json)


def test_a_run_due_at_the_last_tick_is_expected() -> None:
    """The simulation's last tick runs at its end instant, so a run due exactly then (09:00
    in Tokyo is 00:00 UTC) is sent, and must not be reported as unexpected."""
    from datetime import UTC, date, datetime, time, timedelta

    from bot.domain.schedule import LocalSchedule
    from bot.simulation import scheduled_days

    start = datetime(2026, 10, 19, tzinfo=UTC)
    end = datetime(2026, 11, 9, tzinfo=UTC)  # 21 days later, 09:00 in Tokyo
    tokyo = LocalSchedule(time(9, 0), "Asia/Tokyo", tuple(range(7)))
    days = scheduled_days(tokyo, subscribed_at=start, start=start, end=end)
    assert days[0] == date(2026, 10, 20)  # 19 Oct's run was at 00:00 UTC, not after it
    assert days[-1] == date(2026, 11, 9) and len(days) == 21
    earlier = scheduled_days(
        tokyo, subscribed_at=start, start=start, end=end - timedelta(seconds=1)
    )
    assert earlier[-1] == date(2026, 11, 8)


def test_a_simulated_fortnight_sends_every_run_once(tmp_path: Path) -> None:
    result = run_drillbot(
        "simulate",
        "--members",
        "16",
        "--days",
        "10",
        "--seed",
        "3",
        "--json",
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["duplicates"] == 0 and report["missed"] == 0 and report["unexpected"] == 0
    assert report["scheduled_runs"] == report["dm_drills"] > 50
    assert report["posts_sent"] >= report["dm_drills"]
    assert report["channel_questions"] >= 7  # weekdays in ten days, Europe/Berlin
    assert sum(report["grades"].values()) > 0 and report["cards_skipped"] > 0
    assert "Europe/Berlin" in report["timezones"] and "America/New_York" in report["timezones"]
    assert report["mock_rounds_started"] == (
        report["mock_rounds_completed"]
        + report["mock_rounds_expired"]
        + report["mock_rounds_abandoned"]
    )
    assert set(report["leaderboard"]) == {"week", "top"}
    coverage = report["coverage"]
    assert coverage["available"] == 276  # nobody picked tracks: the whole bundled bank
    # Every member drills on at least two of the ten days and gets at least one new
    # question each time, whatever their reviews.
    assert 2 <= coverage["seen_min"] <= coverage["seen_mean"] <= coverage["seen_max"] <= 276
