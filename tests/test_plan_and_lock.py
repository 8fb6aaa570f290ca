"""`drillbot plan` shows a day without sending; SQLite serves one instance at a time."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from bot.planning import plan_as_dicts, plan_day
from bot.storage.database import InstanceLock, InstanceLocked
from tests.cli import COMMAND, child_env, run_drillbot
from tests.harness import Harness


async def test_plan_lists_runs_in_local_time_and_utc_without_sending(harness: Harness) -> None:
    await harness.command(
        "drillbot subscribe",
        user="ana",
        time="07:30",
        timezone="America/New_York",
        days="daily",
        quickfire=2,
        screening=1,
    )
    await harness.command(
        "drillbot subscribe", user="ben", time="09:00", timezone="Asia/Tokyo", days="weekends"
    )
    await harness.command(
        "drillbot channel daily",
        channel="C-study",
        admin=True,
        time="10:00",
        timezone="Europe/Berlin",
        days="daily",
    )
    deliveries = len(harness.port.deliveries)

    rows = plan_as_dicts(await plan_day(harness.service, day=date(2026, 11, 25)))

    assert [(r["kind"], r["target"], r["local_time"], r["utc_time"]) for r in rows] == [
        ("channel", "C-study", "2026-11-25 10:00 Europe/Berlin", "2026-11-25 09:00Z"),
        ("dm", "Ana", "2026-11-25 07:30 America/New_York", "2026-11-25 12:30Z"),
    ]
    assert rows[1]["levels"] == ["quickfire", "quickfire", "screening"]
    assert len(harness.port.deliveries) == deliveries  # nothing was sent
    only_ben = await plan_day(harness.service, day=date(2026, 11, 28), member_ref="ben")
    assert [(r.target, r.utc_time) for r in only_ben] == [("Ben", "2026-11-28 00:00Z")]


def test_a_second_instance_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drillbot.db'}"
    first = InstanceLock(url)
    first.acquire()
    try:
        with pytest.raises(InstanceLocked, match="another drillbot is already running"):
            InstanceLock(url).acquire()
    finally:
        first.release()
    again = InstanceLock(url)
    again.acquire()
    again.release()
    InstanceLock("postgresql+psycopg://u@h/db").acquire()  # no lock needed there


def test_drillbot_run_twice_on_one_file(tmp_path: Path) -> None:
    first = subprocess.Popen(
        [*COMMAND, "run"],
        cwd=tmp_path,
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            if (tmp_path / "drillbot.db").exists():
                break
            time.sleep(0.1)
        time.sleep(1.0)
        second = run_drillbot("run", cwd=tmp_path)
        assert second.returncode == 2
        assert "another drillbot is already running" in second.stderr
        assert "use PostgreSQL to run several" in second.stderr
    finally:
        first.communicate(input="/quit\n", timeout=60)
    assert first.returncode == 0


def test_plan_command_prints_json(tmp_path: Path) -> None:
    subscribed = run_drillbot("run", cwd=tmp_path, stdin="/drillbot subscribe 08:00 UTC daily\n")
    assert subscribed.returncode == 0, subscribed.stderr
    result = run_drillbot("plan", "--date", "2026-12-01", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["date"] == "2026-12-01"
    (run,) = plan["runs"]
    assert run["utc_time"] == "2026-12-01 08:00Z" and len(run["questions"]) == 4
    table = run_drillbot("plan", "--date", "2026-12-01", cwd=tmp_path)
    assert table.returncode == 0 and "INFO" not in table.stderr  # no log line above it
    logged = run_drillbot("--log-level", "INFO", "plan", "--date", "2026-12-01", cwd=tmp_path)
    assert "INFO bot.service: bank: 276 questions" in logged.stderr  # when asked for
