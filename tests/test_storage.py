"""Storage behaves the same on SQLite and PostgreSQL: UTC times, migrations, outbox keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from bot.storage.bulk import insert_rows_ignoring_conflicts, update_by_key
from bot.storage.database import (
    create_engine,
    current_revision,
    head_revision,
    normalise_url,
    session_factory,
    transaction,
    upgrade,
)
from bot.storage.models import Base, InboundEvent, Post, Team
from bot.storage.repository import claim_event, insert_post


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


async def test_an_event_id_is_claimed_once(engine) -> None:
    sessions = session_factory(engine)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    async with transaction(sessions) as session:
        assert await claim_event(session, platform="slack", event_id="Ev1", now=now)
        assert not await claim_event(session, platform="slack", event_id="Ev1", now=now)
        assert await claim_event(session, platform="discord", event_id="Ev1", now=now)
    async with transaction(sessions) as session:
        assert len(list(await session.scalars(select(InboundEvent)))) == 2


async def test_bulk_inserts_skip_existing_keys_and_give_every_row_the_shared_values(
    engine,
) -> None:
    sessions = session_factory(engine)
    now = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    columns = ("key", "platform", "team_id", "heading")
    shared = {"kind": "dm", "position": 1, "status": "pending", "attempts": 0, "not_before": now}
    async with transaction(sessions) as session:
        session.add(Team(platform="p", external_id="t", created_at=now))
        await session.flush()
        team_id = await session.scalar(select(Team.id))
        first = await insert_rows_ignoring_conflicts(
            session,
            Post.__table__,
            columns,
            [(f"dm:1:{n}", "p", team_id, f"card {n}") for n in range(1, 1201)],
            constants={**shared, "created_at": now},
            conflict_column="key",
            returning=("key", "id"),
        )
        # A retried claim: two keys already there, one new.
        again = await insert_rows_ignoring_conflicts(
            session,
            Post.__table__,
            columns,
            [(key, "p", team_id, "dup") for key in ("dm:1:1", "dm:1:1200", "dm:1:1201")],
            constants={**shared, "created_at": now + timedelta(hours=1)},
            conflict_column="key",
            returning=("key", "id"),
        )
    assert len(first) == 1200 and len({post_id for _, post_id in first}) == 1200
    assert [key for key, _ in again] == ["dm:1:1201"]
    async with transaction(sessions) as session:
        posts = {p.key: p for p in await session.scalars(select(Post))}
    assert len(posts) == 1201
    assert posts["dm:1:1"].heading == "card 1"  # the existing row was left alone
    assert posts["dm:1:1"].created_at == now
    assert posts["dm:1:1201"].created_at == now + timedelta(hours=1)
    assert {(p.kind, p.status, p.attempts, p.not_before) for p in posts.values()} == {
        ("dm", "pending", 0, now)
    }


async def test_bulk_updates_change_each_row_by_its_key_and_set_the_shared_values(
    engine,
) -> None:
    sessions = session_factory(engine)
    now = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    async with transaction(sessions) as session:
        session.add(Team(platform="p", external_id="t", created_at=now))
        await session.flush()
        team_id = await session.scalar(select(Team.id))
        inserted = await insert_rows_ignoring_conflicts(
            session,
            Post.__table__,
            ("key", "platform", "team_id"),
            [(f"k{n}", "p", team_id) for n in range(2500)],
            constants={
                "kind": "dm",
                "position": 1,
                "heading": "",
                "status": "pending",
                "attempts": 0,
                "not_before": now,
                "created_at": now,
            },
            conflict_column="key",
            returning=("key", "id"),
        )
    ids = dict(inserted)
    sent = [f"k{n}" for n in range(0, 2500, 2)]  # every other post, across chunks
    async with transaction(sessions) as session:
        await update_by_key(
            session,
            Post.__table__,
            ("channel_ref", "message_ref"),
            [(f"C{key}", None if key == "k0" else f"m-{key}", ids[key]) for key in sent],
            constants={"status": "sent", "sent_at": now + timedelta(minutes=1)},
        )
    async with transaction(sessions) as session:
        posts = {p.key: p for p in await session.scalars(select(Post))}
    assert posts["k2"].channel_ref == "Ck2" and posts["k2"].message_ref == "m-k2"
    assert posts["k0"].message_ref is None and posts["k0"].status == "sent"
    assert posts["k2498"].sent_at == now + timedelta(minutes=1)
    assert {p.status for k, p in posts.items() if k not in sent} == {"pending"}
    assert {p.channel_ref for k, p in posts.items() if k not in sent} == {None}
    assert sum(p.status == "sent" for p in posts.values()) == 1250


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
