"""The operations side of the `drillbot` command, run as a real child process:
`run --http-port`, `--log-format json`, `doctor` and `db backup`."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from pathlib import Path

import aiohttp

from tests.cli import free_port, run_drillbot, start_drillbot


async def get_when_ready(url: str, *, within: float = 60) -> tuple[int, str]:
    """GET `url` once the process listens; (status, body)."""
    deadline = asyncio.get_running_loop().time() + within
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as response:
                    return response.status, await response.text()
            except aiohttp.ClientConnectionError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def test_run_serves_health_readiness_and_live_metrics_on_its_http_port(
    tmp_path: Path,
) -> None:
    port = free_port()  # from the environment, as the image and the manifests set it
    process = await start_drillbot("run", cwd=tmp_path, env={"DRILLBOT_HTTP_PORT": str(port)})
    try:
        assert process.stdin is not None
        process.stdin.write(b"/drill 2\n")
        await process.stdin.drain()
        base = f"http://127.0.0.1:{port}"
        assert (await get_when_ready(f"{base}/healthz"))[0] == 200
        status, reasons = await get_when_ready(f"{base}/readyz")
        assert status == 200, reasons
        for _ in range(100):  # the drill is sent right after the command is read
            _, scraped = await get_when_ready(f"{base}/metrics")
            if 'drillbot_posts_sent_total{kind="drill",platform="console"} 2.0' in scraped:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the drill never showed in /metrics:\n{scraped}")
        assert "drillbot_tick_lag_seconds" in scraped
        process.stdin.close()  # end of input ends the console session
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert out.decode().count("· Drill ") == 2


def test_json_log_lines_for_a_log_pipeline(tmp_path: Path) -> None:
    result = run_drillbot("--log-format", "json", "run", cwd=tmp_path, stdin="/quit\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert lines, "drillbot logged nothing"
    assert {"ts", "level", "logger", "message"} <= set(lines[0])
    assert any("questions" in line["message"] for line in lines)  # the bank sync line

    by_env = run_drillbot("run", cwd=tmp_path, stdin="/quit\n", env={"DRILLBOT_LOG_FORMAT": "json"})
    assert all(line.startswith("{") for line in by_env.stderr.splitlines() if line.strip())
    after_run = run_drillbot("run", "--log-format", "json", cwd=tmp_path, stdin="/quit\n")
    assert after_run.returncode == 0, after_run.stderr
    assert all(line.startswith("{") for line in after_run.stderr.splitlines() if line.strip())


def test_doctor_passes_on_defaults_and_names_the_broken_line_of_a_config(tmp_path: Path) -> None:
    env = {
        "DRILLBOT_DATABASE_URL": "",
        "SLACK_BOT_TOKEN": "xoxb-not-shown-anywhere-12345",
        "SLACK_APP_TOKEN": "xapp-not-shown-either-67890",
    }
    good = run_drillbot("doctor", cwd=tmp_path, env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert [line.split(":")[0] for line in good.stdout.splitlines()] == [
        "OK   config",
        "WARN database",  # created on first start
        "OK   bank",
        "OK   tokens",
        "OK   slack tokens",  # complete for Socket Mode
    ]
    assert "SLACK_BOT_TOKEN" in good.stdout
    assert "not-shown" not in good.stdout + good.stderr
    assert not (tmp_path / "drillbot.db").exists()  # the doctor never writes

    (tmp_path / "drillbot.yaml").write_text("team:\n  timezone: Mars/Olympus\n", encoding="utf-8")
    broken = run_drillbot("doctor", cwd=tmp_path, env=env)
    assert broken.returncode == 1
    assert broken.stdout.startswith("FAIL config: drillbot.yaml:2: team.timezone:")
    assert "Traceback" not in broken.stderr


def test_db_backup_copies_the_grades_and_refuses_to_overwrite(tmp_path: Path) -> None:
    session = run_drillbot("run", cwd=tmp_path, stdin="/drill 1\nreact 1 strong\n/quit\n")
    assert session.returncode == 0, session.stderr

    done = run_drillbot("db", "backup", "copy.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("backed up to copy.db")
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT grade FROM grades").fetchall() == [("strong",)]

    again = run_drillbot("db", "backup", "copy.db", cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.strip() == "drillbot: copy.db already exists; choose a new file name"
    assert run_drillbot("db", "backup", "copy.db", "--overwrite", cwd=tmp_path).returncode == 0

    postgres = run_drillbot(
        "db",
        "backup",
        "x.dump",
        "--db",
        "postgresql+psycopg://app:hunter22@db/drillbot",
        cwd=tmp_path,
    )
    assert postgres.returncode == 2
    assert "pg_dump --format=custom --file=x.dump 'postgresql://app@db/drillbot'" in postgres.stderr
    assert "hunter22" not in postgres.stderr


def test_a_taken_health_port_stops_run_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_drillbot("run", "--http-port", str(port), cwd=tmp_path, stdin="/quit\n")
    assert result.returncode == 2
    assert f"cannot serve /healthz, /readyz and /metrics on 0.0.0.0:{port}" in result.stderr
    assert "Traceback" not in result.stderr
