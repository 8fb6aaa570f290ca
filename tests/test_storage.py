"""Storage behaves the same on SQLite and PostgreSQL: UTC times, migrations, outbox keys."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from bot.inbound import journal
from bot.storage.bulk import insert_rows_ignoring_conflicts, update_by_key
from bot.storage.database import (
    WAL_CHECKPOINT_PAGES,
    WAL_SIZE_LIMIT_BYTES,
    alembic_config,
    create_engine,
    current_revision,
    head_revision,
    normalise_url,
    session_factory,
    transaction,
    upgrade,
)
from bot.storage.models import Base, InboundEvent, Post, Team
from bot.storage.repository import insert_post
from bot.storage.statistics import OUTBOX_ROWS_KNOWN, OutboxStatistics


@pytest.fixture
async def engine(database_url: str):
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


async def test_migrations_build_exactly_the_models(engine) -> None:
    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"teams", "members", "questions", "posts", "grades", "srs_cards"} <= tables
    assert await current_revision(engine) == head_revision()


async def test_the_message_index_leads_with_the_message_and_can_be_taken_back(engine) -> None:
    def message_index_columns(connection) -> list[str]:
        (index,) = [
            index
            for index in inspect(connection).get_indexes("posts")
            if index["name"] == "ix_posts_message"
        ]
        return index["column_names"]

    def downgrade_to(revision: str):
        def run(connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)

        return run

    async with engine.begin() as connection:
        assert await connection.run_sync(message_index_columns) == [
            "platform",
            "message_ref",
            "channel_ref",
        ]
        await connection.run_sync(downgrade_to("0002"))
        assert await connection.run_sync(message_index_columns) == [
            "platform",
            "channel_ref",
            "message_ref",
        ]
    await upgrade(engine)
    async with engine.connect() as connection:
        assert (await connection.run_sync(message_index_columns))[1] == "message_ref"


async def test_upgrade_twice_is_harmless(engine) -> None:
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()


async def test_datetimes_come_back_utc_aware(engine) -> None:
    berlin_evening = datetime(2026, 3, 29, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        session.add(
            Team(platform="p", external_id="t", name="t", timezone="UTC", created_at=berlin_evening)
        )
    async with transaction(sessions) as session:
        team = await session.scalar(select(Team))
    assert team.created_at == berlin_evening
    assert team.created_at.utcoffset() == timedelta(0)
    assert team.created_at.hour == 21


async def test_naive_datetimes_are_refused(engine) -> None:
    sessions = session_factory(engine)
    with pytest.raises(Exception, match="naive datetime"):
        async with transaction(sessions) as session:
            session.add(Team(platform="p", external_id="t", created_at=datetime(2026, 1, 1)))
            await session.flush()


async def test_an_outbox_key_is_inserted_once(engine) -> None:
    sessions = session_factory(engine)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    async with transaction(sessions) as session:
        session.add(Team(platform="p", external_id="t", created_at=now))
        await session.flush()
        team = await session.scalar(select(Team))

        def post() -> Post:
            return Post(
                key="dm:1:2026-11-23",
                kind="dm",
                platform="p",
                team_id=team.id,
                not_before=now,
                created_at=now,
            )

        first, created = await insert_post(session, post())
        again, created_again = await insert_post(session, post())
    assert created and not created_again and again.id == first.id
    async with transaction(sessions) as session:
        assert len(list(await session.scalars(select(Post)))) == 1


async def test_an_event_is_stored_once(engine) -> None:
    sessions = session_factory(engine)
    now = datetime(2026, 11, 23, tzinfo=UTC)

    async def store(platform: str, event_id: str) -> int | None:
        return await journal.store(
            session, platform=platform, event_id=event_id, key="k", payload={}, now=now
        )

    async with transaction(sessions) as session:
        first = await store("slack", "Ev1")
        assert first is not None
        assert await store("slack", "Ev1") is None  # a retry
        assert await store("discord", "Ev1") not in (None, first)
    async with transaction(sessions) as session:
        assert len(list(await session.scalars(select(InboundEvent)))) == 2


NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
# What an outbox row must hold; a test's rows give some of it, these values the rest.
POST_VALUES = {
    "kind": "dm",
    "platform": "p",
    "position": 1,
    "heading": "",
    "status": "pending",
    "attempts": 0,
    "not_before": NOW,
    "created_at": NOW,
}


def shared_post_values(columns: tuple[str, ...], **overrides) -> dict:
    """The values every row shares: what `columns` do not give, with `overrides`."""
    return {k: v for k, v in {**POST_VALUES, **overrides}.items() if k not in columns}


async def new_team(sessions) -> int:
    async with transaction(sessions) as session:
        team = Team(platform="p", external_id="t", created_at=NOW)
        session.add(team)
        await session.flush()
        return team.id


async def add_posts(sessions, columns: tuple[str, ...], rows: list[tuple], **shared) -> list:
    """Bulk-inserts `rows`; returns the (key, id) of those inserted."""
    async with transaction(sessions) as session:
        return await insert_rows_ignoring_conflicts(
            session,
            Post.__table__,
            columns,
            rows,
            constants=shared_post_values(columns, **shared),
            conflict_column="key",
            returning=("key", "id"),
        )


async def test_bulk_inserts_skip_existing_keys_and_give_every_row_the_shared_values(
    engine,
) -> None:
    sessions = session_factory(engine)
    team_id = await new_team(sessions)
    columns = ("key", "team_id", "heading")
    first = await add_posts(
        sessions, columns, [(f"dm:1:{n}", team_id, f"card {n}") for n in range(1, 1201)]
    )
    # A retried claim: two keys already there, one new.
    later = NOW + timedelta(hours=1)
    again = await add_posts(
        sessions,
        columns,
        [(key, team_id, "dup") for key in ("dm:1:1", "dm:1:1200", "dm:1:1201")],
        created_at=later,
    )
    assert len(first) == 1200 and len({post_id for _, post_id in first}) == 1200
    assert [key for key, _ in again] == ["dm:1:1201"]
    async with transaction(sessions) as session:
        posts = {p.key: p for p in await session.scalars(select(Post))}
    assert len(posts) == 1201
    assert posts["dm:1:1"].heading == "card 1"  # the existing row was left alone
    assert posts["dm:1:1"].created_at == NOW
    assert posts["dm:1:1201"].created_at == later
    assert {(p.kind, p.status, p.attempts, p.not_before) for p in posts.values()} == {
        ("dm", "pending", 0, NOW)
    }


async def test_bulk_updates_change_each_row_by_its_key_and_set_the_shared_values(
    engine,
) -> None:
    sessions = session_factory(engine)
    team_id = await new_team(sessions)
    ids = dict(
        await add_posts(sessions, ("key",), [(f"k{n}",) for n in range(2500)], team_id=team_id)
    )
    sent = [f"k{n}" for n in range(0, 2500, 2)]  # every other post, across chunks
    async with transaction(sessions) as session:
        await update_by_key(
            session,
            Post.__table__,
            ("channel_ref", "message_ref"),
            [(f"C{key}", None if key == "k0" else f"m-{key}", ids[key]) for key in sent],
            constants={"status": "sent", "sent_at": NOW + timedelta(minutes=1)},
        )
    async with transaction(sessions) as session:
        posts = {p.key: p for p in await session.scalars(select(Post))}
    assert posts["k2"].channel_ref == "Ck2" and posts["k2"].message_ref == "m-k2"
    assert posts["k0"].message_ref is None and posts["k0"].status == "sent"
    assert posts["k2498"].sent_at == NOW + timedelta(minutes=1)
    assert {p.status for k, p in posts.items() if k not in sent} == {"pending"}
    assert {p.channel_ref for k, p in posts.items() if k not in sent} == {None}
    assert sum(p.status == "sent" for p in posts.values()) == 1250


async def test_a_big_run_on_postgresql_refreshes_the_outbox_statistics_as_it_grows(
    postgres_url: str,
) -> None:
    """Planned from an empty table's statistics, each batch's history query would scan the
    whole outbox; the run analyses it whenever it has added as many rows as was known."""
    engine = create_engine(postgres_url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        await session.execute(text("ALTER TABLE posts SET (autovacuum_enabled = false)"))
    team_id = await new_team(sessions)

    async def grow(start: int, count: int) -> None:
        rows = [(f"dm:{n}",) for n in range(start, start + count)]
        await add_posts(sessions, ("key",), rows, team_id=team_id)

    async def known_rows() -> float:
        async with transaction(sessions) as session:
            return await session.scalar(OUTBOX_ROWS_KNOWN)

    try:
        statistics = OutboxStatistics(sessions)
        await grow(0, 9_999)
        await statistics.keep_up(inserted=9_999)
        assert await known_rows() == -1  # a small run leaves statistics to autovacuum
        await grow(9_999, 1)
        await statistics.keep_up(inserted=10_000)
        assert await known_rows() == 10_000
        await grow(10_000, 9_999)
        await statistics.keep_up(inserted=19_999)
        assert await known_rows() == 10_000  # not yet as many new rows as it knew of
        await grow(19_999, 1)
        await statistics.keep_up(inserted=20_000)
        assert await known_rows() == 20_000
    finally:
        await engine.dispose()


async def test_a_database_that_refuses_analysis_does_not_stop_the_run(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Statistics only speed queries up: when the database answers the statistics query
    # with an error (here the table is not where it is looked for), the run goes on,
    # says so once, and does not keep asking.
    engine = create_engine(postgres_url)
    await upgrade(engine)
    sessions = session_factory(engine)
    team_id = await new_team(sessions)
    await add_posts(sessions, ("key",), [(f"dm:{n}",) for n in range(10_000)], team_id=team_id)
    async with transaction(sessions) as session:
        await session.execute(text("ALTER TABLE posts RENAME TO posts_elsewhere"))
    try:
        statistics = OutboxStatistics(sessions)
        with caplog.at_level(logging.WARNING):
            await statistics.keep_up(inserted=10_000)
            await statistics.keep_up(inserted=50_000)
        warnings = [r for r in caplog.records if "outbox statistics" in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    finally:
        await engine.dispose()


async def test_every_sqlite_connection_logs_ahead_and_checkpoints_in_big_steps(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'drillbot.db'}")
    try:
        async with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                settings = [
                    (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                    for name in ("journal_mode", "wal_autocheckpoint", "journal_size_limit")
                ]
                assert settings == ["wal", WAL_CHECKPOINT_PAGES, WAL_SIZE_LIMIT_BYTES]
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_urls_people_write_pick_the_shipped_driver(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


async def test_a_write_waits_for_another_process_without_stopping_the_event_loop(
    tmp_path,
) -> None:
    """SQLite runs on the loop's thread: while a CLI command holds the write lock, the
    bot's write waits for it and the loop keeps serving (acks, health checks)."""
    import asyncio
    import sqlite3

    url = f"sqlite+aiosqlite:///{tmp_path / 'drillbot.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    other = sqlite3.connect(tmp_path / "drillbot.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def release_later() -> None:
        await asyncio.sleep(0.3)
        other.execute("COMMIT")

    ticking = asyncio.create_task(ticker())
    releasing = asyncio.create_task(release_later())
    try:
        async with transaction(sessions) as session:
            session.add(Team(platform="slack", external_id="T1", created_at=datetime.now(UTC)))
        await releasing
        async with transaction(sessions) as session:
            names = (await session.scalars(select(Team.external_id))).all()
    finally:
        ticking.cancel()
        other.close()
        await engine.dispose()
    assert names == ["T1"]
    assert ticks >= 5  # the loop ran while the write waited for the lock
