"""Plan and dispatch one day of DM drills for many members, through a no-op platform.

    python bench/dispatch.py                       # 10k and 100k members, SQLite and PostgreSQL
    python bench/dispatch.py --sizes 10000 --db sqlite

Each size runs in a fresh process so its peak RSS is its own. PostgreSQL runs need
DRILLBOT_BENCH_DATABASE_URL (or DRILLBOT_TEST_DATABASE_URL) pointing at a server where
the benchmark may create and drop a database. Targets: 100k members in at most 10 s on
SQLite with peak RSS at most 200 MB, and 100k time / 10k time at most 12.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from datetime import time as local_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import NullPort, chosen_databases

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "UTC",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
)
DAY = datetime(2026, 11, 24, tzinfo=UTC)  # a Tuesday


async def seed(app, members: int) -> None:
    """Members and subscriptions straight into the database (setup, not measured)."""
    from sqlalchemy import insert

    from bot.domain.schedule import LocalSchedule
    from bot.storage.database import transaction
    from bot.storage.models import Member, Subscription, Team

    created = datetime(2026, 11, 1, tzinfo=UTC)
    async with transaction(app.sessions) as session:
        session.add(
            Team(
                platform="bench", external_id="T", name="bench", timezone="UTC", created_at=created
            )
        )
    schedules = {
        zone: LocalSchedule(local_time(8, 30), zone, (0, 1, 2, 3, 4)).latest_run(
            at_or_before=DAY.replace(hour=23, minute=59)
        )
        for zone in ZONES
    }
    for start in range(0, members, 10_000):
        chunk = range(start, min(members, start + 10_000))
        async with transaction(app.sessions) as session:
            await session.execute(
                insert(Member),
                [
                    {
                        "id": i + 1,
                        "team_id": 1,
                        "platform": "bench",
                        "external_id": f"U{i}",
                        "display_name": f"member {i}",
                        "leaderboard_opt_out": False,
                        "created_at": created,
                    }
                    for i in chunk
                ],
            )
            await session.execute(
                insert(Subscription),
                [
                    {
                        "member_id": i + 1,
                        "active": True,
                        "local_time": "08:30",
                        "timezone": ZONES[i % len(ZONES)],
                        "days": "0,1,2,3,4",
                        "quickfire_count": 3,
                        "screening_count": 1,
                        "tracks": [],
                        "companies": [],
                        "next_run_at": schedules[ZONES[i % len(ZONES)]],
                        "runs": 0,
                        "skipped": 0,
                        "created_at": created,
                        "updated_at": created,
                    }
                    for i in chunk
                ],
            )


async def measure(url: str, members: int) -> dict:
    from bot.bootstrap import build, freeze_startup_objects
    from bot.clock import FakeClock
    from bot.config import load_settings

    settings = load_settings(env={}).model_copy(update={"database_url": url})
    settings = settings.model_copy(
        update={
            "schedule": settings.schedule.model_copy(update={"grace_hours": 48, "batch_size": 1000})
        }
    )
    port = NullPort()
    clock = FakeClock(DAY.replace(hour=23, minute=59))
    app = await build(settings, ports={"bench": port}, clock=clock)
    try:
        await seed(app, members)
        freeze_startup_objects()  # as `drillbot run` does once it has started
        began = time.perf_counter()
        runs = 0
        while True:
            report = await app.dispatcher.tick()
            runs += report.dm_runs
            if report.dm_runs == 0:
                break
        wall = time.perf_counter() - began
    finally:
        await app.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "members": members,
        "runs": runs,
        "messages": port.sent,
        "wall_s": round(wall, 2),
        "members_per_s": round(runs / wall),
        "peak_rss_mb": round(peak_mb, 1),
    }


def child(database: str, members: int) -> dict:
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            return asyncio.run(measure(f"sqlite+aiosqlite:///{folder}/bench.db", members))
    import psycopg
    from sqlalchemy.engine import make_url

    base = os.environ.get("DRILLBOT_BENCH_DATABASE_URL") or os.environ["DRILLBOT_TEST_DATABASE_URL"]
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"drillbot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        return asyncio.run(measure(url, members))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--child", nargs=2, metavar=("DB", "MEMBERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    databases = chosen_databases(args.db)
    sizes = [int(size) for size in args.sizes.split(",")]
    print(
        f"{'database':<11}{'members':>9}{'messages':>10}{'wall s':>9}{'members/s':>11}"
        f"{'peak RSS MB':>13}"
    )
    results: dict[tuple[str, int], dict] = {}
    for database in databases:
        for size in sizes:
            output = (
                subprocess.run(
                    [sys.executable, __file__, "--child", database, str(size)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            result = json.loads(output)
            results[(database, size)] = result
            print(
                f"{database:<11}{result['members']:>9}{result['messages']:>10}"
                f"{result['wall_s']:>9}{result['members_per_s']:>11}{result['peak_rss_mb']:>13}"
            )
    for database in databases:
        if (database, 10_000) in results and (database, 100_000) in results:
            ratio = results[(database, 100_000)]["wall_s"] / results[(database, 10_000)]["wall_s"]
            print(f"{database}: 100k time / 10k time = {ratio:.1f} (target <= 12)")


if __name__ == "__main__":
    main()
