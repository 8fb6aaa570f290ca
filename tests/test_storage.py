"""Storage behaves the same on SQLite and PostgreSQL: UTC times, migrations, outbox keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

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
