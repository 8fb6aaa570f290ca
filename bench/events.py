"""Inbound events through the core: grade reactions and /drill, against raw driver writes.

    python bench/events.py                        # SQLite and PostgreSQL, 1000 events each
    python bench/events.py --db sqlite --events 2000
    python bench/events.py --json                 # the figures as JSON as well

Each database runs in a fresh process. Setup (not timed): a core built as the tests build
it (`bot.bootstrap.build`, the bundled bank, a fake clock, a no-op platform port), 20
members who each run `/drill 5` to get five DM cards, then one reaction per member to
warm the caches. Then, timed, every event through `service.handle` (the journal insert,
then the member's pending events processed, each in the transaction of its effects):

- reactions one after another: `ReactionAdded` on the members' cards, distinct event
  ids, grades cycling strong / lean / no on each card so each is a real change (a
  card's first reaction adds a grade, every later one changes it, so past the first
  hundred nearly all are changes); events/s, mean, p50 and p99 latency per event;
- reactions 20 at a time: `asyncio.gather` of 20 handles from 20 different members,
  `--events / 20` batches; total events/s;
- `/drill 1` commands one after another (one new card each, sent through the outbox);
  mean and p99 latency;
- the floor, in the same process, on the same database once the core is closed: per
  reaction one raw driver transaction (stdlib sqlite3 with the core's pragmas, or sync
  psycopg) that inserts the journal row, looks the post up by message ref, reads the
  member's grade, supersedes the old review log, inserts the review log, upserts the
  grade and the card, inserts the grade event and marks the journal row done. The card
  and log JSON are ready-made (the FSRS computation is timed on its own line), so the
  floor is what the database and its driver cost. Core/floor is the ratio of events/s.

It also prints how the events ended (journal states, grade actions) and how many were
tried again after a database conflict, so a fast run that failed events shows as such.

PostgreSQL runs need DRILLBOT_BENCH_DATABASE_URL (or DRILLBOT_TEST_DATABASE_URL) pointing
at a server where the benchmark may create and drop a database. Targets (the issue): on
SQLite at least 2,000 reactions/s, p99 at most 10 ms, 20 at a time never slower than one
after another, `/drill` at most 5 ms; on PostgreSQL at least 1,000 reactions/s per process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import NullPort, chosen_databases

from bot.domain.grades import Grade
from bot.events import Actor, CommandInvoked, Conversation, ReactionAdded

PLATFORM = "bench"
TEAM = "T"
MEMBERS = 20  # also the width of the concurrent batches
CARDS = 5  # DM cards per member to react on
WARMUP = MEMBERS  # untimed reactions before the timed ones
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CYCLE = (Grade.STRONG, Grade.LEAN, Grade.NO)

TARGETS = {
    "sqlite": {"sequential_per_s": 2000, "p99_ms": 10.0, "drill_ms": 5.0},
    "postgresql": {"sequential_per_s": 1000},
}


@dataclass
class Card:
    """A DM card a member can react on, and how many reactions it has had."""

    post_id: int
    member: int  # index 0..MEMBERS-1
    member_id: int
    question_id: str
    channel_ref: str
    message_ref: str
    reactions: int = 0

    def next_grade(self) -> Grade:
        grade = CYCLE[self.reactions % len(CYCLE)]
        self.reactions += 1
        return grade


class Events:
    """Hands out reaction events: member after member, each on their next card."""

    def __init__(self, cards: list[Card], prefix: str = "ev") -> None:
        self.prefix = prefix
        self.by_member: dict[int, list[Card]] = {}
        for card in cards:
            self.by_member.setdefault(card.member, []).append(card)
        self.turns = [0] * MEMBERS
        self.ids = 0

    def event_id(self, prefix: str = "") -> str:
        prefix = prefix or self.prefix
        self.ids += 1
        return f"{prefix}-{self.ids}"

    def next_card(self, member: int) -> Card:
        cards = self.by_member[member]
        card = cards[self.turns[member] % len(cards)]
        self.turns[member] += 1
        return card

    def reaction(self, member: int) -> tuple[ReactionAdded, Card]:
        card = self.next_card(member)
        event = ReactionAdded(
            event_id=self.event_id(),
            actor=actor(member),
            conversation=Conversation(channel_ref=card.channel_ref, is_dm=True),
            message_ref=card.message_ref,
            grade=card.next_grade(),
        )
        return event, card


def actor(member: int) -> Actor:
    return Actor(platform=PLATFORM, team_ref=TEAM, user_ref=f"U{member}", display_name=f"m{member}")


def dm(member: int) -> Conversation:
    return Conversation(channel_ref=f"DU{member}", is_dm=True)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latencies(values: Sequence[float]) -> dict:
    total = sum(values)
    return {
        "events": len(values),
        "per_s": round(len(values) / total),
        "mean_ms": round(1000 * total / len(values), 2),
        "p50_ms": round(1000 * percentile(values, 0.50), 2),
        "p99_ms": round(1000 * percentile(values, 0.99), 2),
    }


class Conflicts(logging.Handler):
    """Counts events the core had to try again (a database conflict or lock timeout)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("event %s conflicted"):
            self.count += 1


# ---- the core --------------------------------------------------------------------------


async def setup(app, drill) -> list[Card]:
    """MEMBERS members with CARDS DM cards each, through `/drill` (not timed)."""
    from sqlalchemy import select

    from bot.storage.database import transaction
    from bot.storage.models import Member, Post

    for member in range(MEMBERS):
        await app.service.handle(
            CommandInvoked(
                event_id=f"setup-{member}",
                actor=actor(member),
                conversation=dm(member),
                command="drill",
                args=drill.parse([str(CARDS)]),
            )
        )
    async with transaction(app.sessions) as session:
        rows = await session.execute(
            select(
                Post.id,
                Member.external_id,
                Post.member_id,
                Post.question_id,
                Post.channel_ref,
                Post.message_ref,
            )
            .join(Member, Member.id == Post.member_id)
            .where(Post.kind == "drill", Post.message_ref.is_not(None))
            .order_by(Post.id)
        )
        cards = [Card(row.id, int(row.external_id[1:]), row.member_id, *row[3:]) for row in rows]
    if len(cards) != MEMBERS * CARDS:
        raise RuntimeError(f"setup made {len(cards)} cards, not {MEMBERS * CARDS}")
    return cards


async def outcomes(app) -> dict:
    """What the events did: journal states and grade actions (to check nothing failed)."""
    from sqlalchemy import func, select

    from bot.storage.database import transaction
    from bot.storage.models import GradeEvent, InboundEvent

    async with transaction(app.sessions) as session:
        journal = dict(
            (
                await session.execute(
                    select(InboundEvent.status, func.count()).group_by(InboundEvent.status)
                )
            ).all()
        )
        grades = dict(
            (
                await session.execute(
                    select(GradeEvent.action, func.count()).group_by(GradeEvent.action)
                )
            ).all()
        )
    return {"journal": journal, "grades": grades}


async def measure_core(url: str, events: int, drills: int) -> tuple[dict, list[Card]]:
    from bank.loader import load_bank
    from bot.bootstrap import build
    from bot.clock import FakeClock
    from bot.config import load_settings

    settings = load_settings(env={}).model_copy(update={"database_url": url})
    port = NullPort()
    clock = FakeClock(NOW)
    app = await build(settings, ports={PLATFORM: port}, clock=clock, bank=load_bank())
    conflicts = Conflicts()
    service_log = logging.getLogger("bot.service")
    service_log.addHandler(conflicts)
    service_log.setLevel(logging.INFO)
    try:
        service = app.service
        drill = service.catalog.get("drill")
        cards = await setup(app, drill)
        source = Events(cards)
        for member in range(WARMUP):
            await service.handle(source.reaction(member % MEMBERS)[0])
        result: dict = {"questions": len(app.service.bank.questions)}

        # (a) one after another
        times = []
        for index in range(events):
            event, _ = source.reaction(index % MEMBERS)
            began = time.perf_counter()
            await service.handle(event)
            times.append(time.perf_counter() - began)
        result["sequential"] = latencies(times)
        result["sequential"]["retries"] = conflicts.count

        # (b) 20 at a time, each batch from 20 different members
        batches = max(1, events // MEMBERS)
        batch_times = []
        for _ in range(batches):
            batch = [source.reaction(member)[0] for member in range(MEMBERS)]
            began = time.perf_counter()
            await asyncio.gather(*(service.handle(event) for event in batch))
            batch_times.append(time.perf_counter() - began)
        wall = sum(batch_times)
        retries = conflicts.count
        result["concurrent"] = {
            "events": batches * MEMBERS,
            "per_s": round(batches * MEMBERS / wall),
            "batch_p99_ms": round(1000 * percentile(batch_times, 0.99), 2),
            "retries": conflicts.count - result["sequential"]["retries"],
        }

        # /drill 1, one after another
        args = drill.parse(["1"])
        times = []
        for index in range(drills):
            member = index % MEMBERS
            event = CommandInvoked(
                event_id=source.event_id("drill"),
                actor=actor(member),
                conversation=dm(member),
                command="drill",
                args=args,
            )
            began = time.perf_counter()
            await service.handle(event)
            times.append(time.perf_counter() - began)
        result["drill"] = latencies(times)
        result["drill"]["cards_sent"] = port.sent - MEMBERS * CARDS
        result["drill"]["retries"] = conflicts.count - retries
        result["outcomes"] = await outcomes(app)
    finally:
        service_log.removeHandler(conflicts)
        await app.close()
    return result, cards


# ---- the floor -------------------------------------------------------------------------


def sample_review() -> tuple[dict, dict]:
    """A realistic card and review log (as JSON-ready dicts) for the floor to write."""
    from bot.srs import Srs

    srs = Srs()
    card = srs.new_card(now=NOW, card_id=1)
    review = srs.review(card, Grade.LEAN, at=NOW)
    return review.card, review.log


def fsrs_cost(calls: int = 2000) -> float:
    """Microseconds per FSRS review (what the floor leaves out)."""
    from bot.srs import Srs

    srs = Srs()
    card = srs.new_card(now=NOW, card_id=1)
    began = time.perf_counter()
    for index in range(calls):
        srs.review(card, CYCLE[index % 3], at=NOW)
    return round(1e6 * (time.perf_counter() - began) / calls, 1)


class FloorSql:
    """The floor's statements, with the dialect's placeholders and types."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        p = "%s" if postgres else "?"
        self.store = (
            "INSERT INTO inbound_events (platform, event_id, actor_key, payload, status, "
            f"attempts, received_at) VALUES ({p}, {p}, {p}, {p}, 'pending', 0, {p}) "
            "ON CONFLICT (platform, event_id) DO NOTHING RETURNING id"
        )
        self.post = (
            "SELECT id, question_id FROM posts WHERE platform = "
            f"{p} AND message_ref = {p} AND channel_ref = {p} ORDER BY id LIMIT 1"
        )
        self.grade = (
            f"SELECT id, grade, review_log_id FROM grades WHERE post_id = {p} AND member_id = {p}"
        )
        self.supersede = f"UPDATE review_logs SET superseded = {p} WHERE id = {p}"
        self.log = (
            "INSERT INTO review_logs (member_id, question_id, post_id, rating, reviewed_at, "
            f"log, superseded) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) RETURNING id"
        )
        self.upsert_grade = (
            "INSERT INTO grades (post_id, member_id, question_id, grade, card_before, "
            f"review_log_id, graded_at, updated_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, "
            f"{p}) ON CONFLICT (post_id, member_id) DO UPDATE SET grade = excluded.grade, "
            "review_log_id = excluded.review_log_id, updated_at = excluded.updated_at"
        )
        self.upsert_card = (
            "INSERT INTO srs_cards (member_id, question_id, card, due, last_review, reviews) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}, 1) ON CONFLICT (member_id, question_id) DO UPDATE "
            "SET card = excluded.card, due = excluded.due, last_review = excluded.last_review, "
            "reviews = srs_cards.reviews + 1"
        )
        self.grade_event = (
            "INSERT INTO grade_events (post_id, member_id, action, grade, source, at) "
            f"VALUES ({p}, {p}, {p}, {p}, 'reaction', {p})"
        )
        self.done = (
            f"UPDATE inbound_events SET status = 'done', payload = NULL, processed_at = {p}, "
            f"attempts = attempts + 1 WHERE id = {p}"
        )

    def when(self, moment: datetime):
        # SQLAlchemy keeps SQLite datetimes as naive UTC text.
        return moment if self.postgres else moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    def json(self, value):
        if self.postgres:
            from psycopg.types.json import Json

            return Json(value)
        return json.dumps(value)

    def flag(self, value: bool):
        return value if self.postgres else int(value)


def floor_reaction(connection, sql: FloorSql, event: ReactionAdded, card: Card, data) -> None:
    """One reaction as one raw transaction: the writes the core makes for it."""
    from bot.inbound.codec import encode
    from bot.inbound.journal import actor_key

    card_json, log_json = data
    now = sql.when(NOW)
    cursor = connection.cursor()
    cursor.execute(
        sql.store,
        (PLATFORM, event.event_id, actor_key(event.actor), sql.json(encode(event)), now),
    )
    entry_id = cursor.fetchone()[0]
    cursor.execute(sql.post, (PLATFORM, event.message_ref, event.conversation.channel_ref))
    post_id, question_id = cursor.fetchone()
    cursor.execute(sql.grade, (post_id, card.member_id))
    existing = cursor.fetchone()
    if existing is not None and existing[2] is not None:
        cursor.execute(sql.supersede, (sql.flag(True), existing[2]))
    cursor.execute(
        sql.log,
        (
            card.member_id,
            question_id,
            post_id,
            int(event.grade.rating),
            now,
            sql.json(log_json),
            sql.flag(False),
        ),
    )
    log_id = cursor.fetchone()[0]
    cursor.execute(
        sql.upsert_grade,
        (
            post_id,
            card.member_id,
            question_id,
            event.grade.value,
            sql.json(card_json),
            log_id,
            now,
            now,
        ),
    )
    cursor.execute(
        sql.upsert_card,
        (card.member_id, question_id, sql.json(card_json), sql.when(NOW + timedelta(days=1)), now),
    )
    cursor.execute(
        sql.grade_event,
        (post_id, card.member_id, "add" if existing is None else "change", event.grade.value, now),
    )
    cursor.execute(sql.done, (now, entry_id))
    connection.commit()


def measure_floor(connect, postgres: bool, cards: list[Card], events: int) -> dict:
    sql = FloorSql(postgres)
    data = sample_review()
    source = Events(cards, prefix="floor")  # event ids the core did not use
    # Continue each card's grade cycle where the core left it.
    connection = connect()
    try:
        for member in range(WARMUP):
            floor_reaction(connection, sql, *source.reaction(member % MEMBERS), data)
        times = []
        for index in range(events):
            event, card = source.reaction(index % MEMBERS)
            began = time.perf_counter()
            floor_reaction(connection, sql, event, card, data)
            times.append(time.perf_counter() - began)
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM inbound_events WHERE event_id LIKE 'floor-%'")
        done = cursor.fetchone()[0]
        connection.rollback()
    finally:
        connection.close()
    if done != WARMUP + events:
        raise RuntimeError(f"the floor stored {done} events, not {WARMUP + events}")
    return latencies(times)


def sqlite_connect(path: str):
    def connect():
        connection = sqlite3.connect(path, timeout=30)
        for pragma in (
            "journal_mode=WAL",
            "busy_timeout=10000",
            "foreign_keys=ON",
            "synchronous=NORMAL",
        ):
            connection.execute(f"PRAGMA {pragma}")
        return connection

    return connect


# ---- one database, in a child process --------------------------------------------------


def child(database: str, events: int, drills: int) -> dict:
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            path = f"{folder}/bench.db"
            core, cards = asyncio.run(measure_core(f"sqlite+aiosqlite:///{path}", events, drills))
            floor = measure_floor(sqlite_connect(path), False, cards, events)
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        base = (
            os.environ.get("DRILLBOT_BENCH_DATABASE_URL")
            or os.environ["DRILLBOT_TEST_DATABASE_URL"]
        )
        admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
        name = f"drillbot_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(base).set(database=name)
            core, cards = asyncio.run(
                measure_core(url.render_as_string(hide_password=False), events, drills)
            )
            plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
            floor = measure_floor(lambda: psycopg.connect(plain), True, cards, events)
        finally:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    core["floor"] = floor
    core["core_over_floor"] = round(core["sequential"]["per_s"] / floor["per_s"], 3)
    core["fsrs_review_us"] = fsrs_cost()
    return core


# ---- the report ------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(database: str, result: dict) -> list[str]:
    seq, conc, drill, floor = (
        result["sequential"],
        result["concurrent"],
        result["drill"],
        result["floor"],
    )
    lines = [
        f"{database}  ({MEMBERS} members x {CARDS} cards, {result['questions']} questions)",
        f"  {'':<38}{'events':>7}{'ev/s':>8}{'mean ms':>9}{'p50 ms':>8}{'p99 ms':>8}",
    ]

    def row(label: str, figures: dict) -> None:
        lines.append(
            f"  {label:<38}{figures['events']:>7}{figures['per_s']:>8}"
            f"{figures['mean_ms']:>9}{figures['p50_ms']:>8}{figures['p99_ms']:>8}"
        )

    row("reactions, one after another", seq)
    lines.append(
        f"  {'reactions, 20 at a time':<38}{conc['events']:>7}{conc['per_s']:>8}"
        f"{'':>9}{'':>8}{'':>8}  (p99 per batch of 20: {conc['batch_p99_ms']} ms)"
    )
    row("/drill 1, one after another", drill)
    row("floor: raw driver, one after another", floor)
    lines.append(
        f"  core/floor (reactions/s): {result['core_over_floor']:.3f} "
        f"(floor {floor['per_s'] / seq['per_s']:.1f}x faster); FSRS review alone "
        f"{result['fsrs_review_us']} us/call, not in the floor"
    )
    journal, grades = result["outcomes"]["journal"], result["outcomes"]["grades"]
    lines.append(
        "  journal: "
        + ", ".join(f"{status} {count}" for status, count in sorted(journal.items()))
        + "; grades: "
        + ", ".join(f"{action} {count}" for action, count in sorted(grades.items()))
    )
    lines.append(
        f"  events tried again after a conflict: {seq['retries']} one after another, "
        f"{conc['retries']} 20 at a time, {drill['retries']} /drill"
    )
    targets = TARGETS[database]
    if database == "sqlite":
        checks = [
            (
                f">= {targets['sequential_per_s']} reactions/s",
                seq["per_s"],
                seq["per_s"] >= targets["sequential_per_s"],
            ),
            (
                f"p99 <= {targets['p99_ms']:g} ms/event",
                seq["p99_ms"],
                seq["p99_ms"] <= targets["p99_ms"],
            ),
            (
                "20 at a time >= one after another (ev/s)",
                f"{conc['per_s']} vs {seq['per_s']}",
                conc["per_s"] >= seq["per_s"],
            ),
            (
                f"/drill <= {targets['drill_ms']:g} ms (mean; p99 {drill['p99_ms']})",
                drill["mean_ms"],
                drill["mean_ms"] <= targets["drill_ms"],
            ),
        ]
    else:
        checks = [
            (
                f">= {targets['sequential_per_s']} reactions/s per process",
                seq["per_s"],
                seq["per_s"] >= targets["sequential_per_s"],
            )
        ]
    for label, value, ok in checks:
        lines.append(f"  target {label}: {value}, {verdict(ok)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--events", type=int, default=1000, help="reactions per phase (default 1000)"
    )
    parser.add_argument("--drills", type=int, default=200, help="/drill commands (default 200)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--child", nargs=3, metavar=("DB", "EVENTS", "DRILLS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), int(args.child[2]))))
        return
    databases = chosen_databases(args.db)
    began = time.perf_counter()
    results = {}
    for database in databases:
        output = subprocess.run(
            [sys.executable, __file__, "--child", database, str(args.events), str(args.drills)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        results[database] = json.loads(output.splitlines()[-1])
        print("\n".join(report(database, results[database])))
    print(f"({time.perf_counter() - began:.0f} s)")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
