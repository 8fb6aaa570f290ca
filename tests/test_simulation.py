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
