"""Running the real `drillbot` command in a child process, as a person or a service would."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = Path(sys.executable).with_name("drillbot")
COMMAND = [str(INSTALLED)] if INSTALLED.exists() else [sys.executable, "-m", "bot.cli"]


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment, drillbot's sources importable, plus `env`."""
    return {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}


def run_drillbot(
    *args: str,
    cwd: Path,
    stdin: str = "",
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `drillbot ARGS` to the end with `stdin` typed in."""
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
    )


async def start_drillbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start `drillbot ARGS` with pipes for stdin, stdout and stderr."""
    return await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        cwd=cwd,
        env=child_env(env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
