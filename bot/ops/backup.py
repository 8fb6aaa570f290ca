"""`drillbot db backup PATH`: a consistent copy of a live SQLite database.

SQLite's online backup API copies pages while drillbot keeps writing (WAL), so the bot
need not stop. PostgreSQL has its own tool for this; drillbot does not reinvent it and
names the pg_dump command instead.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from bot.storage.database import is_sqlite, normalise_url, sqlite_path

logger = logging.getLogger(__name__)

PAGES_PER_STEP = 1024  # copy in steps so a busy bot is not blocked for the whole copy


class BackupError(Exception):
    """The backup cannot be made; the message says why and what to do instead."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int


def pg_dump_command(database_url: str, *, destination: Path) -> str:
    """The pg_dump line for a PostgreSQL URL, password hidden (pg_dump reads PGPASSWORD)."""
    url = make_url(database_url)
    shown = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=True)
    return f"pg_dump --format=custom --file={destination} '{shown}'"


def backup_sqlite(*, database_url: str, destination: Path, overwrite: bool = False) -> BackupResult:
    """Copy the SQLite database behind `database_url` to `destination`, consistently.

    The copy is written next to the destination and renamed into place, so a failed or
    interrupted backup never leaves a half-written file under the final name.
    """
    if not is_sqlite(database_url):
        raise BackupError(
            "drillbot db backup copies SQLite databases; for PostgreSQL use pg_dump: "
            + pg_dump_command(database_url, destination=destination)
        )
    source = sqlite_path(normalise_url(database_url))
    if source is None:
        raise BackupError("an in-memory database has nothing to back up")
    if not source.is_file():
        raise BackupError(f"database file {source} does not exist")
    destination = Path(destination)
    if destination.exists() and not overwrite:
        raise BackupError(f"{destination} already exists; choose a new file name")
    if not destination.parent.is_dir():
        raise BackupError(f"folder {destination.parent} does not exist")
    if destination.resolve() == source.resolve():
        raise BackupError("the backup must go to a different file than the database")

    partial = destination.with_name(f".{destination.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            writer = sqlite3.connect(partial)
            try:
                reader.backup(writer, pages=PAGES_PER_STEP)
                # A single self-contained file: no -wal/-shm companions to forget.
                writer.execute("PRAGMA journal_mode=DELETE")
                (verdict,) = writer.execute("PRAGMA quick_check").fetchone()
            finally:
                writer.close()
        finally:
            reader.close()
        if verdict != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict}")
        os.replace(partial, destination)
    except sqlite3.Error as error:
        raise BackupError(f"backup of {source} failed: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    size = destination.stat().st_size
    logger.debug("backed up %s to %s (%d bytes)", source, destination, size)  # the CLI says so
    return BackupResult(path=destination, size_bytes=size)
