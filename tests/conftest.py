"""Shared fixtures: a database per test (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.harness import Harness

POSTGRES_URL = os.environ.get("DRILLBOT_TEST_DATABASE_URL")
FIXTURES = Path(__file__).with_name("fixtures")


def _admin_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("DRILLBOT_TEST_DATABASE_URL is not set")
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"drillbot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_conninfo(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'drillbot.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def bundled_bank():
    """The real bank, parsed once for the whole run."""
    from bank.loader import load_bank

    return load_bank()


@pytest.fixture
def start_time() -> datetime:
    return datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
async def harness(database_url: str, start_time: datetime) -> AsyncIterator[Harness]:
    harness = await Harness.start(database_url=database_url, now=start_time)
    try:
        yield harness
    finally:
        await harness.close()
