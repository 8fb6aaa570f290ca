"""The weekly leaderboard for a big team: 5,000 members, 1M grades, 100k mock rounds.

    python bench/leaderboard.py [--db sqlite|postgresql|both]

Seeds the data straight through the driver (setup, not measured), then times the
leaderboard query for one week (median of 20 runs after a warm-up) and the PNG chart.
Targets: query at most 50 ms on SQLite and PostgreSQL; chart at most 300 ms.
PostgreSQL needs DRILLBOT_BENCH_DATABASE_URL or DRILLBOT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import chosen_databases

MEMBERS = 5_000
GRADES = 1_000_000
ROUNDS = 100_000
CHANNEL_POSTS = GRADES // MEMBERS  # every member grades every channel question
WEEK = "2026-W47"
START = datetime(2025, 11, 24, tzinfo=UTC)  # a year of history before the measured week


def rows(seed: int = 7):
    """Members, channel posts, grades, rounds and weekly counts, as plain tuples."""
    from bot.domain.weeks import week_label

    rng = random.Random(seed)
    created = START
    members = [
        (i + 1, 1, "bench", f"U{i}", f"member {i:04d}", False, created) for i in range(MEMBERS)
    ]
    span = 52 * 7 * 24 * 3600
    posts = []
    for i in range(CHANNEL_POSTS):
        at = START + timedelta(seconds=int(span * i / CHANNEL_POSTS))
        posts.append(
            (
                i + 1,
                f"channel:1:{i}",
                "channel",
                "bench",
                1,
                "C1",
                "bench-q",
                "sent",
                at,
                at,
                1,
                "",
                0,
            )
        )
    grades = []
    grade_id = 0
    for post_id, *_, at, _position, _heading, _attempts in posts:
        for member in range(1, MEMBERS + 1):
            grade_id += 1
            grade = rng.choices(("strong", "lean", "no"), (5, 3, 2))[0]
            when = at + timedelta(minutes=member % 600)
            grades.append((grade_id, post_id, member, "bench-q", grade, when, when))
    rounds, weeks = [], {}
    for round_id in range(1, ROUNDS + 1):
        member = rng.randint(1, MEMBERS)
        started = START + timedelta(seconds=rng.randint(0, span + 7 * 24 * 3600))
        status = "completed" if rng.random() < 0.7 else "expired"
        finished = started + timedelta(minutes=rng.randint(10, 45))
        rounds.append(
            (
                round_id,
                member,
                1,
                "mock",
                status,
                "[]",
                started,
                started + timedelta(minutes=45),
                finished,
            )
        )
        if status == "completed":
            key = (member, week_label(finished, "UTC"))
            weeks[key] = weeks.get(key, 0) + 1
    from bot.domain.weeks import shift_week

    round_weeks = []
    streaks: dict[tuple[int, str], int] = {}
    for member, week in sorted(weeks, key=lambda key: (key[0], key[1])):
        streaks[(member, week)] = streaks.get((member, shift_week(week, -1)), 0) + 1
        round_weeks.append((member, week, 1, weeks[(member, week)], streaks[(member, week)]))
    return members, posts, grades, rounds, round_weeks


INSERTS = {
    "members": "INSERT INTO members (id, team_id, platform, external_id, display_name, "
    "leaderboard_opt_out, created_at) VALUES ({})",
    "posts": "INSERT INTO posts (id, key, kind, platform, team_id, channel_ref, question_id, "
    "status, not_before, created_at, position, heading, attempts) VALUES ({})",
    "grades": "INSERT INTO grades (id, post_id, member_id, question_id, grade, graded_at, "
    "updated_at) VALUES ({})",
    "rounds": "INSERT INTO rounds (id, member_id, team_id, kind, status, question_ids, "
    "started_at, deadline, finished_at) VALUES ({})",
    "round_weeks": "INSERT INTO round_weeks (member_id, week, team_id, completed, streak) "
    "VALUES ({})",
}
WIDTH = {"members": 7, "posts": 13, "grades": 7, "rounds": 9, "round_weeks": 5}


async def prepare(url: str) -> None:
    from bot.bootstrap import build
    from bot.config import load_settings
    from bot.storage.database import transaction
    from bot.storage.models import Question, Team

    settings = load_settings(env={}).model_copy(update={"database_url": url})
    app = await build(settings, ports={})
    async with transaction(app.sessions) as session:
        session.add(
            Team(
                id=1,
                platform="bench",
                external_id="T",
                name="bench",
                timezone="UTC",
                created_at=START,
            )
        )
        session.add(
            Question(
                id="bench-q",
                track="llm",
                level="screening",
                time_limit_s=120,
                content_hash="x",
                data={"tags": []},
                active=True,
                synced_at=START,
            )
        )
    await app.close()


def seed_sqlite(path: str, data) -> None:
    import sqlite3

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys=OFF")
    for table, values in zip(INSERTS, data, strict=True):
        marks = ", ".join("?" * WIDTH[table])
        plain = [
            tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)
            for row in values
        ]
        connection.executemany(INSERTS[table].format(marks), plain)
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def seed_postgres(conninfo: str, data) -> None:
    import psycopg

    columns = {
        "members": "id, team_id, platform, external_id, display_name, leaderboard_opt_out, "
        "created_at",
        "posts": "id, key, kind, platform, team_id, channel_ref, question_id, status, not_before, "
        "created_at, position, heading, attempts",
        "grades": "id, post_id, member_id, question_id, grade, graded_at, updated_at",
        "rounds": "id, member_id, team_id, kind, status, question_ids, started_at, deadline, "
        "finished_at",
        "round_weeks": "member_id, week, team_id, completed, streak",
    }
    with psycopg.connect(conninfo) as connection:
        for table, values in zip(INSERTS, data, strict=True):
            with connection.cursor().copy(f"COPY {table} ({columns[table]}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        connection.execute("ANALYZE")


async def measure(url: str) -> tuple[float, float]:
    from bot.bootstrap import build
    from bot.config import load_settings
    from bot.progress import leaderboard
    from bot.storage.database import transaction

    settings = load_settings(env={}).model_copy(update={"database_url": url})
    app = await build(settings, ports={})
    try:
        timings = []
        for attempt in range(21):
            began = time.perf_counter()
            async with transaction(app.sessions) as session:
                board = await leaderboard(session, team_id=1, week=WEEK, timezone="UTC")
            if attempt:
                timings.append(time.perf_counter() - began)
        began = time.perf_counter()
        board.chart()
        chart = time.perf_counter() - began
    finally:
        await app.close()
    print(f"  {len(board.standings)} members ranked for {WEEK}")
    return statistics.median(timings) * 1000, chart * 1000


def run(database: str, data) -> None:
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/board.db"
            asyncio.run(prepare(url))
            seed_sqlite(f"{folder}/board.db", data)
            query_ms, chart_ms = asyncio.run(measure(url))
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        base = (
            os.environ.get("DRILLBOT_BENCH_DATABASE_URL")
            or os.environ["DRILLBOT_TEST_DATABASE_URL"]
        )
        admin = make_url(base).set(drivername="postgresql")
        name = f"drillbot_board_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
            asyncio.run(prepare(url))
            seed_postgres(admin.set(database=name).render_as_string(hide_password=False), data)
            query_ms, chart_ms = asyncio.run(measure(url))
        finally:
            with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"{database:<11} leaderboard query {query_ms:7.1f} ms (target 50)   "
        f"chart {chart_ms:6.1f} ms (target 300)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    databases = chosen_databases(args.db)
    began = time.perf_counter()
    data = rows()
    print(
        f"generated {MEMBERS} members, {len(data[2])} grades, {len(data[3])} rounds "
        f"in {time.perf_counter() - began:.1f} s"
    )
    for database in databases:
        run(database, data)


if __name__ == "__main__":
    main()
