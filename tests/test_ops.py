"""Operating drillbot: health, readiness, metrics, doctor, backups, logs and shutdown.

Everything runs for real: the aiohttp endpoints through aiohttp's test client, readiness
and the doctor against real databases built by bot.bootstrap, Slack's auth.test and
Discord's /users/@me against local fake API servers on 127.0.0.1, and SIGTERM against a
real child process in the middle of a dispatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.bootstrap import DatabaseUnavailable, build, open_database
from bot.config import load_settings
from bot.ops.backup import BackupError, backup_sqlite
from bot.ops.doctor import diagnose, exit_code, run_doctor
from bot.ops.health import health_app, start_health_server
from bot.ops.logs import JsonFormatter, RedactingFilter, configure_logging, secret_values
from bot.ops.metrics import Metrics
from bot.ops.readiness import check_ready
from bot.ops.shutdown import GracefulShutdown
from bot.storage.database import create_engine, head_revision
from bot.storage.models import Post
from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[1]

SLACK_BOT = "xoxb-1111111111-2222222222-abcdefGHIJKLmnopqrstUVWX"
SLACK_APP = "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef0123456789"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"
DISCORD = "MTMwMDAwMDAwMDAwMDAwMDAwMQ.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB"


def sqlite_url(tmp_path: Path, name: str = "drillbot.db") -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}"


@contextlib.asynccontextmanager
async def client_for(app: web.Application) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


# ---- /healthz, /readyz, /metrics ----------------------------------------------------


async def test_health_endpoints_answer_alive_ready_and_metrics() -> None:
    state = {"ready": False}

    async def ready_check() -> tuple[bool, list[str]]:
        if state["ready"]:
            return True, []
        return False, ["database sqlite:///x.db unreachable: unable to open database file"]

    metrics = Metrics()
    async with client_for(health_app(ready_check=ready_check, metrics=metrics)) as client:
        alive = await client.get("/healthz")
        assert alive.status == 200 and (await alive.text()).strip() == "ok"

        unready = await client.get("/readyz")
        body = await unready.text()
        assert unready.status == 503
        assert "not ready" in body and "unable to open database file" in body

        state["ready"] = True
        ready = await client.get("/readyz")
        assert ready.status == 200 and (await ready.text()).strip() == "ready"

        metrics.post_sent(platform="slack", kind="dm", count=3)
        metrics.post_failed(platform="discord", kind="channel")
        metrics.grade_recorded(platform="slack", grade="strong")
        metrics.observe_tick_lag(seconds=4.5)
        metrics.rate_limit_waited(platform="slack", seconds=1.25)
        metrics.set_active_mock_rounds(count=2)
        scraped = await client.get("/metrics")
        text = await scraped.text()
    assert scraped.status == 200
    assert scraped.headers["Content-Type"].startswith("text/plain")
    assert 'drillbot_posts_sent_total{kind="dm",platform="slack"} 3.0' in text
    assert 'drillbot_posts_failed_total{kind="channel",platform="discord"} 1.0' in text
    assert 'drillbot_grades_recorded_total{grade="strong",platform="slack"} 1.0' in text
    assert "drillbot_tick_lag_seconds 4.5" in text
    assert 'drillbot_rate_limit_wait_seconds_total{platform="slack"} 1.25' in text
    assert "drillbot_active_mock_rounds 2.0" in text


async def test_a_failing_ready_check_is_unready_not_an_error() -> None:
    async def broken() -> tuple[bool, list[str]]:
        raise RuntimeError("engine is closed")

    async with client_for(health_app(ready_check=broken)) as client:
        response = await client.get("/readyz")
        assert response.status == 503
        assert "engine is closed" in await response.text()
        assert (await client.get("/healthz")).status == 200


def test_two_apps_in_one_process_keep_their_own_metrics() -> None:
    first, second = Metrics(), Metrics()  # a shared global registry would refuse this
    first.post_sent(platform="discord", kind="dm")
    assert b'drillbot_posts_sent_total{kind="dm",platform="discord"} 1.0' in first.render()
    assert b'platform="discord"' not in second.render()


# ---- readiness on real databases ----------------------------------------------------


async def test_readiness_on_a_real_sqlite_database_and_a_broken_one(tmp_path: Path) -> None:
    settings = load_settings(env={}, database_url=sqlite_url(tmp_path))
    app = await build(settings, ports={})
    broken_url = sqlite_url(tmp_path / "gone" / "folder")
    broken = replace(
        app,
        engine=create_engine(broken_url),
        settings=settings.model_copy(update={"database_url": broken_url}),
    )
    empty_url = sqlite_url(tmp_path, "empty.db")
    empty = replace(
        app,
        engine=create_engine(empty_url),
        settings=settings.model_copy(update={"database_url": empty_url}),
    )
    try:
        assert await check_ready(app) == (True, [])

        ok, reasons = await check_ready(broken)
        assert not ok
        assert reasons == [
            f"database sqlite+aiosqlite:///{tmp_path}/gone/folder/drillbot.db unreachable: "
            "unable to open database file"
        ]

        ok, reasons = await check_ready(empty)
        assert not ok and f"expected {head_revision()}" in reasons[0]
        assert "drillbot db upgrade" in reasons[0]

        ok, reasons = await check_ready(app, connected={"discord": lambda: False})
        assert (ok, reasons) == (False, ["discord is not connected"])
    finally:
        await broken.engine.dispose()
        await empty.engine.dispose()
        await app.close()


async def test_drillbot_run_serves_the_endpoints_on_its_http_port(tmp_path: Path) -> None:
    app = await build(load_settings(env={}, database_url=sqlite_url(tmp_path)), ports={})
    metrics = Metrics()
    metrics.post_sent(platform="slack", kind="dm")
    runner = await start_health_server(drillbot=app, host="127.0.0.1", port=0, metrics=metrics)
    try:
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession(f"http://{host}:{port}") as http:
            async with http.get("/healthz") as alive, http.get("/readyz") as ready:
                assert (alive.status, ready.status) == (200, 200)
            async with http.get("/metrics") as scraped:
                assert "drillbot_posts_sent_total" in await scraped.text()
    finally:
        await runner.cleanup()
        await app.close()


class TcpProxy:
    """A TCP relay on 127.0.0.1 that a test can pull out and put back, like a network
    partition between drillbot and its database."""

    def __init__(self, *, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def test_readyz_goes_unready_when_postgresql_goes_away_and_back(postgres_url: str) -> None:
    url = make_url(postgres_url)
    proxy = TcpProxy(target_host=url.host or "127.0.0.1", target_port=url.port or 5432)
    await proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = await build(load_settings(env={}, database_url=through), ports={})

    async def ready_check() -> tuple[bool, list[str]]:
        return await check_ready(app, within=5)

    try:
        async with client_for(health_app(ready_check=ready_check)) as client:
            assert (await client.get("/readyz")).status == 200
            await proxy.stop()
            gone = await client.get("/readyz")
            assert gone.status == 503
            assert "unreachable" in await gone.text()
            assert (await client.get("/healthz")).status == 200  # alive, just not ready
            await proxy.start()
            back = await client.get("/readyz")
            assert back.status == 200, await back.text()
    finally:
        await app.close()
        with contextlib.suppress(AssertionError):
            await proxy.stop()


# ---- backups ------------------------------------------------------------------------


async def test_backup_copies_a_live_sqlite_database(tmp_path: Path, start_time: datetime) -> None:
    harness = await Harness.start(database_url=sqlite_url(tmp_path), now=start_time)
    try:
        await harness.command("drill", count=3)
        posts = len(await harness.rows(Post))
        destination = tmp_path / "backup.db"
        result = backup_sqlite(
            database_url=harness.app.settings.database_url, destination=destination
        )
        with pytest.raises(BackupError, match="already exists"):
            backup_sqlite(database_url=harness.app.settings.database_url, destination=destination)
    finally:
        await harness.close()
    assert result.path == destination and result.size_bytes == destination.stat().st_size
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".partial")]
    with contextlib.closing(sqlite3.connect(destination)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert copy.execute("SELECT count(*) FROM posts").fetchone() == (posts,)
        assert posts == 3  # the three cards
    # The copy is a working drillbot database.
    engine = create_engine(f"sqlite:///{destination}")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(Post)) == posts
    finally:
        await engine.dispose()


def test_backup_refuses_postgresql_and_names_pg_dump(tmp_path: Path) -> None:
    with pytest.raises(BackupError) as raised:
        backup_sqlite(
            database_url="postgresql+psycopg://drillbot:hunter2pass@db.internal:5432/drillbot",
            destination=tmp_path / "drillbot.dump",
        )
    message = str(raised.value)
    assert "pg_dump --format=custom" in message
    assert "postgresql://drillbot@db.internal:5432/drillbot" in message
    assert "hunter2pass" not in message
    with pytest.raises(BackupError, match="does not exist"):
        backup_sqlite(database_url=sqlite_url(tmp_path, "nope.db"), destination=tmp_path / "b.db")
    assert not (tmp_path / "nope.db").exists()  # a wrong path is not silently created


# ---- logs ---------------------------------------------------------------------------


def record_through(handler: logging.Handler, emit) -> list[str]:
    stream = io.StringIO()
    handler.setStream(stream)  # type: ignore[attr-defined]
    log = logging.getLogger("drillbot.test_ops")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        emit(log)
    finally:
        log.removeHandler(handler)
        log.propagate = True
    return stream.getvalue().splitlines()


def test_json_lines_carry_level_logger_message_extras_and_exceptions() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())

    def emit(log: logging.Logger) -> None:
        log.info("tick: %d posts sent", 12, extra={"platform": "slack"})
        try:
            raise ValueError("bad payload")
        except ValueError:
            log.exception("event failed")

    first, *rest = record_through(handler, emit)
    entry = json.loads(first)
    assert entry["level"] == "INFO" and entry["logger"] == "drillbot.test_ops"
    assert entry["message"] == "tick: 12 posts sent" and entry["platform"] == "slack"
    assert datetime.fromisoformat(entry["ts"]).tzinfo is not None
    failure = json.loads("\n".join(rest))
    assert failure["level"] == "ERROR" and "ValueError: bad payload" in failure["exception"]


def test_tokens_and_secret_values_never_reach_the_log() -> None:
    env = {
        "DISCORD_TOKEN": DISCORD,
        "SLACK_SIGNING_SECRET": SIGNING,
        "DRILLBOT_DATABASE_URL": "postgresql+psycopg://drillbot:pg-secret-9@db:5432/drillbot",
    }
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter(secrets=secret_values(env)))
    handler.setFormatter(JsonFormatter())

    def emit(log: logging.Logger) -> None:
        log.info("slack said invalid_auth for %s", SLACK_BOT)
        log.info("socket mode with %s", SLACK_APP)
        log.warning("signature mismatch with secret %s", SIGNING)
        log.info("headers: Authorization: Bot %s", DISCORD)
        log.error("cannot connect to postgresql+psycopg://drillbot:pg-secret-9@db:5432/drillbot")
        try:
            raise RuntimeError(f"login failed for token {DISCORD}")
        except RuntimeError:
            log.exception("discord login")

    lines = record_through(handler, emit)
    output = "\n".join(lines)
    for secret in (SLACK_BOT, SLACK_APP, SIGNING, DISCORD, "pg-secret-9", "xoxb-", "xapp-"):
        assert secret not in output
    messages = [json.loads(line)["message"] for line in lines if line.startswith("{")]
    assert messages[0] == "slack said invalid_auth for [redacted]"
    assert messages[3] == "headers: Authorization: Bot [redacted]"
    assert "postgresql+psycopg://drillbot:***@db:5432/drillbot" in messages[4]
    assert "login failed for token [redacted]" in output


def test_configure_logging_text_by_default_json_on_request() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        text = io.StringIO()
        configure_logging(level="INFO", stream=text, env={"DISCORD_TOKEN": DISCORD})
        logging.getLogger("drillbot.x").info("hello %s", DISCORD)
        assert text.getvalue().rstrip().endswith("INFO drillbot.x: hello [redacted]")

        lines = io.StringIO()
        configure_logging(level="WARNING", fmt="json", stream=lines, env={})
        logging.getLogger("drillbot.x").info("not shown")
        logging.getLogger("drillbot.x").warning("shown")
        assert [json.loads(line)["message"] for line in lines.getvalue().splitlines()] == ["shown"]
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


# ---- doctor -------------------------------------------------------------------------


@pytest.fixture
async def fake_platforms() -> AsyncIterator[dict[str, str]]:
    """Slack's Web API (auth.test) and Discord's REST API (/users/@me) on 127.0.0.1."""

    async def auth_test(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SLACK_BOT}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(
            {"ok": True, "team": "Study group", "user": "drillbot", "team_id": "T1", "bot_id": "B1"}
        )

    async def users_me(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bot {DISCORD}":
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response({"id": "1300000000000000001", "username": "drillbot", "bot": True})

    app = web.Application()
    app.router.add_post("/api/auth.test", auth_test)
    app.router.add_get("/api/v10/users/@me", users_me)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        base = str(server.make_url("")).rstrip("/")
        yield {"DRILLBOT_SLACK_API_URL": f"{base}/api/", "DRILLBOT_DISCORD_API_URL": base}
    finally:
        await server.close()


async def test_doctor_passes_on_a_good_setup_and_names_tokens_only(
    tmp_path: Path, fake_platforms: dict[str, str]
) -> None:
    settings = load_settings(env={}, database_url=sqlite_url(tmp_path))
    engine = await open_database(settings)  # what `drillbot run` does on start
    await engine.dispose()
    env = {
        **fake_platforms,
        "SLACK_BOT_TOKEN": SLACK_BOT,
        "SLACK_APP_TOKEN": SLACK_APP,
        "DISCORD_TOKEN": DISCORD,
    }

    checks = await run_doctor(settings=settings, check_platforms=True, env=env)
    lines = [check.line() for check in checks]

    assert exit_code(checks) == 0, lines
    assert [check.name for check in checks] == [
        "config",
        "database",
        "inbound events",
        "bank",
        "tokens",
        "slack tokens",
        "slack auth",
        "discord auth",
    ]
    assert all(line.startswith("OK ") for line in lines), lines
    assert f"migrations at head ({head_revision()})" in lines[1]
    assert lines[2].endswith("inbound events: 0 waiting, no dead letters")
    assert lines[4].endswith(
        "set: SLACK_BOT_TOKEN, SLACK_APP_TOKEN, DISCORD_TOKEN; not set: SLACK_SIGNING_SECRET"
    )
    assert "bot 'drillbot' in workspace 'Study group'" in lines[6]
    assert "logged in as 'drillbot'" in lines[7]
    output = "\n".join(lines)
    assert SLACK_BOT not in output and SLACK_APP not in output and DISCORD not in output


async def test_doctor_fails_on_refused_tokens_and_incomplete_slack_setup(
    tmp_path: Path, fake_platforms: dict[str, str]
) -> None:
    settings = load_settings(env={}, database_url=sqlite_url(tmp_path))
    env = {**fake_platforms, "SLACK_BOT_TOKEN": "xoxb-revoked-0000", "DISCORD_TOKEN": "x" * 60}

    checks = {
        check.name: check
        for check in await run_doctor(settings=settings, check_platforms=True, env=env)
    }

    assert checks["database"].status == "warn"  # no file yet: created on first start
    assert not (tmp_path / "drillbot.db").exists()  # the doctor never creates it
    assert (
        checks["slack tokens"].line() == "FAIL slack tokens: socket mode also needs SLACK_APP_TOKEN"
    )
    assert checks["slack auth"].line() == (
        "FAIL slack auth: auth.test refused SLACK_BOT_TOKEN: invalid_auth"
    )
    assert checks["discord auth"].line() == "FAIL discord auth: Discord refused DISCORD_TOKEN (401)"
    assert exit_code(list(checks.values())) == 1


async def test_an_sqlite_too_old_for_drillbot_is_named_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on an old Linux whose Python uses the system SQLite: no RETURNING before 3.35.
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    settings = load_settings(env={}, database_url=sqlite_url(tmp_path))
    expected = "drillbot needs SQLite 3.35.0 or newer; this Python uses SQLite 3.31.1."
    checks = await run_doctor(settings=settings, check_platforms=False, env={})
    database = next(check for check in checks if check.name == "database")
    assert database.line().startswith(f"FAIL database: {expected}")
    with pytest.raises(DatabaseUnavailable, match=expected.replace(".", r"\.")):
        await open_database(settings)
    assert not (tmp_path / "drillbot.db").exists()


async def test_doctor_fails_clearly_on_a_broken_database_url(tmp_path: Path) -> None:
    missing_folder = load_settings(env={}, database_url=sqlite_url(tmp_path / "no" / "such"))
    checks = await run_doctor(settings=missing_folder, check_platforms=False, env={})
    database = next(check for check in checks if check.name == "database")
    assert database.line() == (
        f"FAIL database: sqlite+aiosqlite:///{tmp_path}/no/such/drillbot.db: "
        f"folder {tmp_path}/no/such does not exist"
    )
    assert exit_code(checks) == 1

    closed_port = load_settings(
        env={}, database_url="postgresql+psycopg://drillbot:pw-not-shown@127.0.0.1:9/drillbot"
    )
    checks = await run_doctor(settings=closed_port, check_platforms=False, env={})
    database = next(check for check in checks if check.name == "database")
    assert database.status == "fail"
    assert database.detail.startswith(
        "postgresql+psycopg://drillbot:***@127.0.0.1:9/drillbot: unreachable:"
    )
    assert "pw-not-shown" not in database.line()
    tokens = next(check for check in checks if check.name == "tokens")
    assert tokens.status == "warn" and "only the console platform can run" in tokens.detail


async def test_doctor_fails_clearly_on_a_broken_config(tmp_path: Path) -> None:
    config = tmp_path / "drillbot.yaml"
    config.write_text("team:\n  name: Prep\nschedule:\n  tick_seconds: 0\n", encoding="utf-8")

    checks = await diagnose(config_path=config, check_platforms=False, env={})

    assert [check.line() for check in checks] == [
        f"FAIL config: {config}:4: schedule.tick_seconds: "
        "Input should be greater than or equal to 1 (got 0)"
    ]
    assert exit_code(checks) == 1


async def test_doctor_reports_a_broken_team_bank(tmp_path: Path) -> None:
    (tmp_path / "team.yaml").write_text("- id: x1\n  track: nonsense\n", encoding="utf-8")
    (tmp_path / "drillbot.yaml").write_text("bank:\n  paths: [team.yaml]\n", encoding="utf-8")
    checks = await diagnose(
        config_path=tmp_path / "drillbot.yaml",
        check_platforms=False,
        env={"DRILLBOT_DATABASE_URL": sqlite_url(tmp_path)},
    )
    bank = next(check for check in checks if check.name == "bank")
    assert bank.status == "fail" and "team.yaml" in bank.detail
    assert "drillbot bank validate" in bank.detail


# ---- shutdown -----------------------------------------------------------------------


async def test_sigterm_sets_stopping_and_drain_bounds_the_wait() -> None:
    shutdown = GracefulShutdown()
    shutdown.install()
    try:
        release = asyncio.Event()
        quick = shutdown.track(release.wait())
        stuck = shutdown.track(asyncio.Event().wait(), name="stuck send")
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(shutdown.wait(), timeout=30)
        assert shutdown.stopping.is_set() and not shutdown.forced.is_set()
        release.set()
        assert await shutdown.drain(grace=0.2) is False  # the stuck one was cut off
        assert quick.done() and not quick.cancelled()
        assert stuck.cancelled()
        assert shutdown.busy == 0
        assert await shutdown.drain(grace=0.2) is True  # nothing left in flight
    finally:
        shutdown.uninstall()


CHILD = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from datetime import datetime, timedelta

    from adapters.fake import FakeChatPort
    from bank.loader import load_files
    from bot.clock import FakeClock
    from bot.config import load_settings
    from bot.ops.serving import ServeOptions, serving
    from tests.harness import PLATFORM, SMALL_BANK

    url, now, sent_log = sys.argv[1], datetime.fromisoformat(sys.argv[2]), sys.argv[3]
    live = sys.argv[4:] == ["live"]


    class RunningClock:
        '''Starts at `now` and runs on in real time, so leases run out for real.'''

        def __init__(self, start):
            self.start, self.began = start, time.monotonic()

        def now(self):
            return self.start + timedelta(seconds=time.monotonic() - self.began)


    class SlowPlatform(FakeChatPort):
        '''A platform that takes a while per message, so the signal lands mid-dispatch.'''

        async def send_dm(self, *, user_ref, message):
            await self.slowly()
            return self.logged(message, await super().send_dm(user_ref=user_ref, message=message))

        async def post(self, *, channel_ref, message, thread_ref=None):
            # A member's DM channel, once known, is posted to directly.
            await self.slowly()
            sent = await super().post(
                channel_ref=channel_ref, message=message, thread_ref=thread_ref
            )
            return self.logged(message, sent)

        async def slowly(self):
            if not getattr(self, "announced", False):
                self.announced = True
                print("sending", flush=True)
            await asyncio.sleep(0.05)

        def logged(self, message, sent):
            if getattr(message, "post_id", None) is not None:  # a question card
                with open(sent_log, "a") as log:
                    log.write(json.dumps(message.post_id) + "\\n")
            return sent


    async def main():
        settings = load_settings(env={}, database_url=url)
        if live:  # tick every second, as a replica picking up a dead one's work would
            schedule = settings.schedule.model_copy(update={"tick_seconds": 1})
            settings = settings.model_copy(update={"schedule": schedule})
        async with serving(
            settings,
            ports={PLATFORM: SlowPlatform(platform=PLATFORM)},
            options=ServeOptions(grace_seconds=120),
            bank=load_files([SMALL_BANK]),
            clock=RunningClock(now) if live else FakeClock(now),
        ) as running:  # what `drillbot run` does: the first tick starts at once
            await running.stopping.wait()  # SIGTERM; no further tick starts after it
        print("drained" if running.drained else "cut off", flush=True)


    asyncio.run(main())
    """
)


async def subscribe_at_eight(database_url: str, *, members: int) -> int:
    """Members m0, m1... with a daily drill at 08:00 UTC; returns the send workers."""
    setup = await Harness.start(
        database_url=database_url, now=datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    )
    try:
        for index in range(members):
            await setup.command(
                "drillbot subscribe", user=f"m{index}", time="08:00", timezone="UTC", days="daily"
            )
        return setup.service.outbox.policy.concurrency
    finally:
        await setup.close()


async def dispatching_child(
    database_url: str, tmp_path: Path, *, name: str = "child", live: bool = False
) -> tuple[asyncio.subprocess.Process, Path]:
    """A drillbot process serving at 08:00 on a slow platform, and its log of sends.
    `live`: its clock runs on from 08:00 in real time and it ticks every second."""
    script, sent_log = tmp_path / "child.py", tmp_path / f"{name}-sent.jsonl"
    script.write_text(CHILD, encoding="utf-8")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        database_url,
        datetime(2026, 11, 23, 8, 0, tzinfo=UTC).isoformat(),
        str(sent_log),
        *(["live"] if live else []),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        # A file, not a pipe: a replica left running logs every tick, and a full pipe
        # would stop it mid-write.
        stderr=(tmp_path / f"{name}-stderr.log").open("w"),
    )
    return child, sent_log


async def test_sigterm_during_a_dispatch_loses_nothing_and_sends_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    await subscribe_at_eight(database_url, members=12)
    child, sent_log = await dispatching_child(database_url, tmp_path)
    try:
        first = await asyncio.wait_for(child.stdout.readline(), timeout=120)
        assert first.decode().strip() == "sending"
        child.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(child.communicate(), timeout=180)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == 0, (tmp_path / "child-stderr.log").read_text()[-2000:]
    assert out.decode().strip() == "drained"
    sent_before = [json.loads(line) for line in sent_log.read_text().splitlines()]

    restart = await Harness.start(
        database_url=database_url, now=datetime(2026, 11, 23, 8, 5, tzinfo=UTC)
    )
    try:
        await restart.tick()  # what a restart does: resume what is pending, claim what is due
        await restart.tick()
        sent_after = [card.post_id for card in restart.port.cards()]
        posts = await restart.rows(Post, Post.kind == "dm")
        cards = [post for post in posts if post.question_id is not None]
    finally:
        await restart.close()
    everything = sent_before + sent_after
    assert len(everything) == len(set(everything))  # nothing sent twice
    assert sorted(everything) == sorted(post.id for post in cards)  # nothing lost
    assert {post.status for post in posts} == {"sent"}
    assert len({post.key.split(":")[1] for post in cards}) == 12  # every member's drill


async def test_a_kill_9_mid_batch_repeats_at_most_the_sends_in_flight(
    database_url: str, tmp_path: Path
) -> None:
    workers = await subscribe_at_eight(database_url, members=30)  # 120 cards, 50 ms a send
    child, sent_log = await dispatching_child(database_url, tmp_path)
    try:
        first = await asyncio.wait_for(child.stdout.readline(), timeout=120)
        assert first.decode().strip() == "sending"
        while True:  # a third of the way through the batch
            if sent_log.exists() and len(sent_log.read_text().splitlines()) >= 40:
                break
            await asyncio.sleep(0.01)
        child.kill()  # SIGKILL: no drain, no lease release
        await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    sent_before = [json.loads(line) for line in sent_log.read_text().splitlines()]

    restart = await Harness.start(
        database_url=database_url, now=datetime(2026, 11, 23, 8, 1, tzinfo=UTC)
    )
    try:
        await restart.tick()  # the dead process's leases (30 s) have run out
        await restart.tick()
        sent_after = [card.post_id for card in restart.port.cards()]
        cards = [p for p in await restart.rows(Post, Post.kind == "dm") if p.question_id]
    finally:
        await restart.close()
    repeated = set(sent_before) & set(sent_after)
    assert sorted(set(sent_before) | set(sent_after)) == sorted(p.id for p in cards)  # none lost
    assert {p.status for p in cards} == {"sent"}
    # Only what was in flight, or accepted while the last batch was being written.
    assert len(repeated) <= workers, (len(repeated), len(sent_before))


def logged_sends(sent_log: Path | None) -> list[int]:
    if sent_log is None or not sent_log.exists():
        return []
    return [json.loads(line) for line in sent_log.read_text().splitlines()]


async def card_statuses(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Post.status).where(Post.kind == "dm", Post.question_id.is_not(None))
            )
            return [status for (status,) in rows]
    finally:
        await engine.dispose()


async def stop(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.communicate(), timeout=60)
        except TimeoutError:
            child.kill()
            await child.wait()


async def test_after_a_kill_9_the_rest_of_the_run_goes_out_within_a_minute(
    database_url: str, tmp_path: Path
) -> None:
    """SQLite: the process is killed and started again 5 s later; it takes back its own
    leases at once. PostgreSQL: a second replica runs all along and takes over the dead
    one's claimed cards when their lease (30 s) runs out. Either way nothing is lost, at
    most the sends in flight repeat, and the day's cards are all out within a minute of
    the kill."""
    postgres = "postgresql" in database_url
    workers = await subscribe_at_eight(database_url, members=30)  # 120 cards, 50 ms a send
    killed, killed_log = await dispatching_child(database_url, tmp_path, name="a", live=True)
    other, other_log = None, None
    try:
        started = asyncio.get_running_loop().time()
        while len(logged_sends(killed_log)) < 20:  # a sixth of the way through
            assert asyncio.get_running_loop().time() - started < 120, (
                tmp_path / "a-stderr.log"
            ).read_text()[-2000:]
            await asyncio.sleep(0.01)
        if postgres:  # the replica that lives on
            other, other_log = await dispatching_child(database_url, tmp_path, name="b", live=True)
        killed.kill()  # SIGKILL: no drain, no lease release
        await killed.wait()
        killed_at = asyncio.get_running_loop().time()
        if not postgres:
            await asyncio.sleep(5)
            other, other_log = await dispatching_child(database_url, tmp_path, name="b", live=True)
        statuses = await card_statuses(database_url)
        while set(statuses) != {"sent"}:  # bounded: fails if the rest is not out in 60 s
            elapsed = asyncio.get_running_loop().time() - killed_at
            assert elapsed < 60, f"{statuses.count('sent')} of {len(statuses)} sent after 60 s"
            await asyncio.sleep(0.5)
            statuses = await card_statuses(database_url)
    finally:
        for child in (killed, other):
            if child is not None:
                await stop(child)
    assert len(statuses) == 120  # every member's four cards, none lost
    before, after = logged_sends(killed_log), logged_sends(other_log)
    assert len(set(before) | set(after)) == 120  # each one reached the platform
    repeated = set(before) & set(after)
    assert len(repeated) <= workers, (len(repeated), len(before))


# ---- what the core reports to /metrics ----------------------------------------------


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(f"drillbot_{name}", labels) or 0.0


async def test_the_core_counts_posts_grades_rounds_lag_and_rate_limit_waits(
    database_url: str,
) -> None:
    from bot.domain.grades import Grade
    from bot.ports import PlatformError

    metrics = Metrics()
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    harness = await Harness.start(database_url=database_url, now=now, metrics=metrics)
    try:
        await harness.command("drill", count=2)
        assert sample(metrics, "posts_sent_total", platform="fake", kind="drill") == 2

        card = harness.port.cards()[0]
        ref = harness.port.delivery_of_card(card.post_id).message_ref
        await harness.react(ref, Grade.STRONG)
        await harness.react(ref, Grade.STRONG)  # the same grade again changes nothing
        await harness.react(ref, Grade.NO)  # a changed grade is a new one
        assert sample(metrics, "grades_recorded_total", platform="fake", grade="strong") == 1
        assert sample(metrics, "grades_recorded_total", platform="fake", grade="no") == 1

        # Active rounds are counted from the database when /metrics is scraped.
        runner = await start_health_server(
            drillbot=harness.app, host="127.0.0.1", port=0, metrics=metrics
        )
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession(f"http://{host}:{port}") as http:
                await harness.command("mock")
                async with http.get("/metrics") as scraped:
                    assert "drillbot_active_mock_rounds 1.0" in await scraped.text()
                await harness.command("mock abandon")
                async with http.get("/metrics") as scraped:
                    assert "drillbot_active_mock_rounds 0.0" in await scraped.text()
        finally:
            await runner.cleanup()

        # A drill due at 08:30, claimed by a tick at 08:40: ten minutes late.
        await harness.command("drillbot subscribe", time="08:30", timezone="UTC", days="daily")
        calls: list[str] = []

        def throttle_the_first_send(action: str, target: str) -> PlatformError | None:
            calls.append(action)
            return PlatformError("slow down", retry_after=0.05) if len(calls) == 1 else None

        harness.port.fail_with = throttle_the_first_send
        harness.clock.set(datetime(2026, 11, 23, 8, 40, tzinfo=UTC))
        await harness.tick()
        assert sample(metrics, "tick_lag_seconds") == 600
        # The wait counted is the 0.05 s asked for, less the moment before the next try.
        assert sample(metrics, "rate_limit_wait_seconds_total", platform="fake") > 0.04
        drill = await harness.rows(Post, Post.kind == "dm", Post.status == "sent")
        assert drill and sample(metrics, "posts_sent_total", platform="fake", kind="dm") == len(
            drill
        )

        harness.port.fail_with = lambda action, target: (
            None if action == "reply" else PlatformError("gone", permanent=True)
        )
        await harness.command("drill", count=1, user="zoe")
        assert sample(metrics, "posts_failed_total", platform="fake", kind="drill") == 1
    finally:
        await harness.close()


async def test_the_only_sqlite_instance_takes_back_its_leases_at_start(tmp_path: Path) -> None:
    from adapters.fake import FakeChatPort
    from bank.loader import load_files
    from bot.clock import FakeClock
    from bot.ops.serving import ServeOptions, serving
    from tests.harness import PLATFORM, SMALL_BANK

    url = f"sqlite:///{tmp_path / 'drillbot.db'}"
    due = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    first = await Harness.start(database_url=url, now=datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    for index in range(3):
        await first.command(
            "drillbot subscribe", user=f"m{index}", time="08:00", timezone="UTC", days="daily"
        )
    first.clock.set(due)
    claimed = await first.app.dispatcher._claim_subscriptions(first.app.dispatcher.totals)
    assert len(claimed) == 12 and first.port.cards() == []  # claimed, then killed
    await first.close()

    port = FakeChatPort(platform=PLATFORM)
    settings = load_settings(env={}, database_url=url)
    async with serving(
        settings,
        ports={PLATFORM: port},
        options=ServeOptions(signals=()),
        bank=load_files([SMALL_BANK]),
        clock=FakeClock(due),  # the leases would still hold for 30 s
    ):
        assert len(port.cards()) == 12  # sent at start, not when the leases run out
