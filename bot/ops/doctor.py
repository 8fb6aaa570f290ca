"""`drillbot doctor`: one line per thing that must be right before drillbot can serve.

It reads and never writes: it does not migrate the database, create an SQLite file or
post anything. Tokens are reported by name only; their values are never printed, and
platform errors are reduced to the platform's error code.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiohttp
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bank.loader import BankError, load_bank
from bot.config import ConfigError, Settings, load_settings
from bot.inbound import journal
from bot.storage.database import (
    alembic_config,
    create_engine,
    current_revision,
    head_revision,
    is_sqlite,
    redact_url,
    sqlite_library_problem,
    sqlite_path,
)

logger = logging.getLogger(__name__)

Status = Literal["ok", "warn", "fail"]

SLACK_API_URL_ENV = "DRILLBOT_SLACK_API_URL"
DISCORD_API_URL_ENV = "DRILLBOT_DISCORD_API_URL"
DISCORD_API = "https://discord.com/api/v10"
PLATFORM_TIMEOUT = 10.0
DATABASE_TIMEOUT = 10.0

SLACK_TOKENS = {  # name -> expected prefix (None: any shape)
    "SLACK_BOT_TOKEN": "xoxb-",
    "SLACK_APP_TOKEN": "xapp-",
    "SLACK_SIGNING_SECRET": None,
}
DISCORD_TOKENS = {"DISCORD_TOKEN": None}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def line(self) -> str:
        return f"{self.status.upper():<4} {self.name}: {self.detail}"


def exit_code(checks: list[Check]) -> int:
    return 0 if all(check.ok for check in checks) else 1


def _first_line(error: BaseException) -> str:
    reason = getattr(error, "orig", None) or error
    text = str(reason).strip()
    return text.splitlines()[0] if text else type(reason).__name__


# ---- config -----------------------------------------------------------------------


def config_check(settings: Settings) -> Check:
    where = str(settings.source) if settings.source else "no config file (defaults)"
    return Check(
        "config",
        "ok",
        f"{where}; team {settings.team.name!r} in {settings.team.timezone}, "
        f"slack mode {settings.slack.mode}",
    )


# ---- database ---------------------------------------------------------------------


def _known_revision(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # alembic raises several types for an unknown id
        return False


async def database_check(settings: Settings, *, within: float = DATABASE_TIMEOUT) -> Check:
    url = settings.database_url
    shown = redact_url(url)
    if is_sqlite(url):
        problem = sqlite_library_problem()
        if problem is not None:
            return Check("database", "fail", problem)
        path = sqlite_path(url)
        if path is not None:
            folder = path.parent if str(path.parent) else Path(".")
            if not folder.is_dir():
                return Check("database", "fail", f"{shown}: folder {folder} does not exist")
            if not path.exists():
                return Check(
                    "database", "warn", f"{shown}: no database file yet (created on first start)"
                )
    try:
        engine = create_engine(url)
    except Exception as error:  # malformed URL or missing driver
        return Check("database", "fail", f"{shown}: {_first_line(error)}")
    try:
        revision = await asyncio.wait_for(current_revision(engine), timeout=within)
    except TimeoutError:
        return Check("database", "fail", f"{shown}: no answer within {within:g}s")
    except (OperationalError, DBAPIError, OSError) as error:
        return Check("database", "fail", f"{shown}: unreachable: {_first_line(error)}")
    finally:
        await engine.dispose()
    head = head_revision()
    if revision == head:
        return Check("database", "ok", f"{shown}: reachable, migrations at head ({head})")
    if revision is None:
        return Check(
            "database",
            "warn",
            f"{shown}: reachable but empty; drillbot run or drillbot db upgrade creates it",
        )
    if not _known_revision(revision):
        return Check(
            "database",
            "fail",
            f"{shown}: at migration {revision}, which this drillbot does not know "
            "(a newer drillbot migrated it; upgrade drillbot)",
        )
    return Check(
        "database",
        "warn",
        f"{shown}: at migration {revision}, head is {head}; "
        "migrated on next start, or run drillbot db upgrade",
    )


async def inbound_check(settings: Settings, *, within: float = DATABASE_TIMEOUT) -> Check:
    """The inbound journal: events waiting, and dead letters an operator should read."""
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            session = AsyncSession(bind=connection)
            found = await asyncio.wait_for(journal.counts(session), timeout=within)
            dead = await journal.dead_letters(session, limit=3)
    except (TimeoutError, OperationalError, DBAPIError, OSError) as error:
        return Check("inbound events", "warn", f"could not read the journal: {_first_line(error)}")
    finally:
        await engine.dispose()
    pending, dead_count = found[journal.PENDING], found[journal.DEAD]
    if dead_count:
        latest = "; ".join(
            f"{row.platform} {row.event_id} after {row.attempts} tries: "
            f"{(row.last_error or '').splitlines()[0][:160] if row.last_error else 'no error'}"
            for row in dead
        )
        return Check(
            "inbound events",
            "warn",
            f"{dead_count} dead letter(s), kept {settings.inbound.retention_days} days "
            f"(latest: {latest}); {pending} waiting",
        )
    if pending > settings.inbound.backlog_limit:
        return Check(
            "inbound events",
            "warn",
            f"{pending} waiting to be processed, over inbound.backlog_limit "
            f"({settings.inbound.backlog_limit})",
        )
    return Check("inbound events", "ok", f"{pending} waiting, no dead letters")


# ---- bank -------------------------------------------------------------------------


def bank_check(settings: Settings) -> Check:
    try:
        bank = load_bank(list(settings.bank.paths))
    except BankError as error:
        first = error.issues[0] if error.issues else error
        return Check(
            "bank",
            "fail",
            f"{len(error.issues)} problem(s), first: {first} (all: drillbot bank validate)",
        )
    extra = f", {len(bank.warnings)} warning(s)" if bank.warnings else ""
    return Check("bank", "ok", f"{len(bank)} questions{extra}")


# ---- tokens -----------------------------------------------------------------------


def _present(env: Mapping[str, str], name: str) -> bool:
    return bool((env.get(name) or "").strip())


def token_checks(settings: Settings, *, env: Mapping[str, str]) -> list[Check]:
    """Which tokens are set (names only), and whether each platform has what its mode
    needs: Slack Socket Mode needs the bot and app tokens, HTTP mode the bot token and
    the signing secret."""
    names = [*SLACK_TOKENS, *DISCORD_TOKENS]
    present = [name for name in names if _present(env, name)]
    absent = [name for name in names if name not in present]
    checks = [
        Check(
            "tokens",
            "ok" if present else "warn",
            f"set: {', '.join(present) or 'none'}; not set: {', '.join(absent) or 'none'}"
            + ("" if present else " (only the console platform can run)"),
        )
    ]
    if any(name in present for name in SLACK_TOKENS):
        mode = settings.slack.mode
        needed = [
            "SLACK_BOT_TOKEN",
            "SLACK_APP_TOKEN" if mode == "socket" else "SLACK_SIGNING_SECRET",
        ]
        missing = [name for name in needed if name not in present]
        if missing:
            checks.append(
                Check("slack tokens", "fail", f"{mode} mode also needs {', '.join(missing)}")
            )
        else:
            shape = [
                f"{name} does not start with {prefix}"
                for name, prefix in SLACK_TOKENS.items()
                if prefix and name in needed and not env[name].strip().startswith(prefix)
            ]
            checks.append(
                Check(
                    "slack tokens",
                    "warn" if shape else "ok",
                    "; ".join(shape) if shape else f"complete for {mode} mode",
                )
            )
    return checks


# ---- platform auth ----------------------------------------------------------------


async def slack_auth_check(*, env: Mapping[str, str], within: float = PLATFORM_TIMEOUT) -> Check:
    """Slack's auth.test with SLACK_BOT_TOKEN (at DRILLBOT_SLACK_API_URL when set)."""
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    options = {"base_url": env[SLACK_API_URL_ENV]} if env.get(SLACK_API_URL_ENV) else {}
    client = AsyncWebClient(token=env["SLACK_BOT_TOKEN"].strip(), timeout=int(within), **options)
    try:
        response = await asyncio.wait_for(client.auth_test(), timeout=within)
    except SlackApiError as error:
        code = error.response.get("error", "error") if error.response else "error"
        return Check("slack auth", "fail", f"auth.test refused SLACK_BOT_TOKEN: {code}")
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        return Check("slack auth", "fail", f"could not reach Slack: {_first_line(error)}")
    team, user = response.get("team"), response.get("user")
    return Check("slack auth", "ok", f"auth.test: bot {user!r} in workspace {team!r}")


def discord_api_base(url: str | None) -> str:
    """Like the Discord adapter: a bare host means its /api/v10."""
    if not url:
        return DISCORD_API
    url = url.rstrip("/")
    return url if re.search(r"/api/v\d+$", url) else f"{url}/api/v10"


async def discord_auth_check(*, env: Mapping[str, str], within: float = PLATFORM_TIMEOUT) -> Check:
    """GET /users/@me with DISCORD_TOKEN: what discord.py's login does."""
    url = f"{discord_api_base(env.get(DISCORD_API_URL_ENV))}/users/@me"
    headers = {"Authorization": f"Bot {env['DISCORD_TOKEN'].strip()}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=within)) as session,
            session.get(url, headers=headers) as response,
        ):
            if response.status == 401:
                return Check("discord auth", "fail", "Discord refused DISCORD_TOKEN (401)")
            if response.status != 200:
                return Check("discord auth", "fail", f"GET /users/@me answered {response.status}")
            user = await response.json()
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        return Check("discord auth", "fail", f"could not reach Discord: {_first_line(error)}")
    return Check(
        "discord auth", "ok", f"logged in as {user.get('username')!r} (id {user.get('id')})"
    )


# ---- all together -----------------------------------------------------------------


async def run_doctor(
    *,
    settings: Settings,
    check_platforms: bool,
    env: Mapping[str, str] | None = None,
) -> list[Check]:
    """Every check for loaded settings, in the order an operator would fix them."""
    env = os.environ if env is None else env
    database = await database_check(settings)
    checks = [config_check(settings), database]
    if database.status == "ok":
        checks.append(await inbound_check(settings))
    checks.append(bank_check(settings))
    checks += token_checks(settings, env=env)
    if check_platforms:
        if _present(env, "SLACK_BOT_TOKEN"):
            checks.append(await slack_auth_check(env=env))
        if _present(env, "DISCORD_TOKEN"):
            checks.append(await discord_auth_check(env=env))
        if not _present(env, "SLACK_BOT_TOKEN") and not _present(env, "DISCORD_TOKEN"):
            checks.append(Check("platforms", "warn", "no platform token set, nothing to log in"))
    return checks


async def diagnose(
    *,
    config_path: Path | None,
    check_platforms: bool,
    env: Mapping[str, str] | None = None,
    database_url: str | None = None,
) -> list[Check]:
    """Load the settings and run every check; a broken config is the one failing line
    (nothing else can be judged without it)."""
    env = os.environ if env is None else env
    try:
        settings = load_settings(config_path, env=env, database_url=database_url)
    except ConfigError as error:
        return [Check("config", "fail", str(error))]
    return await run_doctor(settings=settings, check_platforms=check_platforms, env=env)
