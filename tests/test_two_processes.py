"""Two drillbot processes on one PostgreSQL database share a simulated day.

Each child is a whole drillbot core (its own engine, dispatcher and outbox) on a fake
clock; the test moves both clocks through the same day in step, as real clocks move
together, and both tick at each step, racing for the same due subscriptions.
Every key must be posted exactly once, and nothing due may be missed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.storage.models import Post
from tests.cli import ROOT, child_env
from tests.harness import Harness

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday
MEMBERS = 30

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from datetime import datetime

    from adapters.fake import FakeChatPort
    from bank.loader import load_files
    from bot.bootstrap import build
    from bot.clock import FakeClock
    from bot.config import load_settings
    from tests.harness import PLATFORM, SMALL_BANK

    url, sent_log = sys.argv[1], sys.argv[2]


    async def main():
        settings = load_settings(env={}, database_url=url)
        settings = settings.model_copy(
            update={"schedule": settings.schedule.model_copy(update={"batch_size": 2})}
        )
        port = FakeChatPort(platform=PLATFORM)
        clock = FakeClock(datetime.fromisoformat("2026-11-23T00:00:00+00:00"))
        bank = load_files([SMALL_BANK])
        app = await build(settings, ports={PLATFORM: port}, clock=clock, bank=bank)
        try:
            read = asyncio.get_running_loop().run_in_executor
            print("ready", flush=True)
            while (line := (await read(None, sys.stdin.readline)).strip()) != "stop":
                clock.set(datetime.fromisoformat(line))  # both instances share one time
                await app.dispatcher.tick()
                print("ticked", flush=True)
        finally:
            await app.close()
        with open(sent_log, "w") as log:
            json.dump([card.post_id for card in port.cards()], log)


    asyncio.run(main())
    """
)


async def say(child: asyncio.subprocess.Process, line: str) -> None:
    assert child.stdin is not None
    child.stdin.write(f"{line}\n".encode())
    await child.stdin.drain()


async def test_two_processes_post_every_key_of_a_day_once(
    postgres_url: str, tmp_path: Path
) -> None:
    setup = await Harness.start(database_url=postgres_url, now=START)
    try:
        await setup.subscribe_members(
            MEMBERS, local_time=lambda index: f"{(index * 5) % 24:02d}:{(index * 7) % 60:02d}"
        )
    finally:
        await setup.close()

    script = tmp_path / "instance.py"
    script.write_text(CHILD, encoding="utf-8")
    logs = [tmp_path / f"sent-{n}.json" for n in (1, 2)]
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            postgres_url,
            str(log),
            cwd=ROOT,
            env=child_env(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for log in logs
    ]
    try:
        for child in children:  # both built and waiting: then the day starts for both
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), timeout=120)
            assert line.decode().strip() == "ready"
        for minute in range(0, 24 * 60 + 15, 15):  # a tick every 15 minutes, in step
            now = (START + timedelta(minutes=minute)).isoformat()
            await asyncio.gather(*(say(child, now) for child in children))
            for child in children:
                assert child.stdout is not None
                line = await asyncio.wait_for(child.stdout.readline(), timeout=120)
                assert line.decode().strip() == "ticked", line
        await asyncio.gather(*(say(child, "stop") for child in children))
        results = await asyncio.wait_for(
            asyncio.gather(*(child.communicate() for child in children)), timeout=120
        )
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err.decode()[-2000:]

    delivered = [post_id for log in logs for post_id in json.loads(log.read_text())]
    check = await Harness.start(database_url=postgres_url, now=START)
    try:
        async with check.app.sessions() as session:
            posts = (await session.execute(select(Post.id, Post.key, Post.status))).all()
    finally:
        await check.close()
    cards = {post.id for post in posts if post.key.startswith("dm:")}
    assert len(delivered) == len(set(delivered))  # no card sent twice
    assert set(delivered) == cards  # every card inserted was sent
    assert {post.status for post in posts} == {"sent"}
    assert len({post.key.split(":")[1] for post in posts if post.key.startswith("dm:")}) == (
        MEMBERS
    )  # every member got the day's drill
