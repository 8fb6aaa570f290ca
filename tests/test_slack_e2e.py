"""`drillbot run --platform slack --slack-mode http` as a real process, end to end.

The process talks to a local fake Slack Web API (DRILLBOT_SLACK_API_URL) and the test
plays Slack: it posts signed requests to /slack/events, then looks at the calls the bot
made and, after a SIGTERM, at the grades in the SQLite file given with --db.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli import COMMAND, free_port
from tests.slack_fakes import (
    ANA,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    SlackSender,
    block_text,
    card_post_id,
    dm_channel_of,
    load_fixture,
)

CONFIG = """\
schedule:
  tick_seconds: 3600
rate_limits:
  slack: {per_second: 1000, per_channel_per_second: 1000, burst: 100}
"""


@dataclass
class Process:
    proc: asyncio.subprocess.Process
    log: Path
    db: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def wait_for_log(self, text: str, *, within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while text not in self.log_text():
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"never logged {text!r}:\n{self.log_text()[-3000:]}")
            await asyncio.sleep(0.05)

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    fake.add_user(ANA, name="Ana", tz="Asia/Tokyo")
    try:
        yield fake
    finally:
        await fake.close()


async def launch(fake: FakeSlack, tmp_path: Path, *, port: int, log_name: str) -> Process:
    """`drillbot run --platform slack --slack-mode http` on the SQLite file in tmp_path,
    talking to the fake Slack; returns once it listens."""
    (tmp_path / "drillbot.yaml").write_text(CONFIG, encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "DRILLBOT_"))
    }
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DRILLBOT_SLACK_API_URL=fake.api_url,
    )
    db = tmp_path / "drillbot.db"
    log = tmp_path / log_name
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            *COMMAND,
            "--log-level",
            "DEBUG",
            "run",
            "--platform",
            "slack",
            "--slack-mode",
            "http",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{db}",
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
        )
    process = Process(proc=proc, log=log, db=db)
    try:
        await process.wait_for_log(f"listening on 0.0.0.0:{port}/slack/events", within=60)
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return process


@pytest.fixture
async def drillbot(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[tuple[Process, SlackSender]]:
    port = free_port()
    process = await launch(fake, tmp_path, port=port, log_name="drillbot.log")
    sender = SlackSender(url=f"http://127.0.0.1:{port}/slack/events", fake=fake)
    try:
        yield process, sender
    finally:
        await sender.close()
        if process.proc.returncode is None:
            process.proc.kill()
            await process.proc.wait()


def rows(db: Path, query: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


async def test_drillbot_serves_slack_over_http(
    drillbot: tuple[Process, SlackSender], fake: FakeSlack
) -> None:
    process, slack = drillbot

    # Slack checks the Request URL once when it is saved.
    challenge = load_fixture("url_verification")
    answer = await slack.post(json.dumps(challenge), content_type="application/json")
    assert answer.status == 200 and challenge["challenge"] in answer.body

    # /drill 2 in the bot's DM: acknowledged at once, then a summary and two cards.
    acked = await slack.command("2")
    assert (acked.status, acked.body) == (200, "")
    cards = await fake.wait_for(lambda: len(fake.cards()) == 2 and fake.cards())
    await fake.wait_for(lambda: len(fake.reactions) == 6)
    assert all(card["channel"] == dm_channel_of(ANA) for card in cards)
    first = cards[0]

    # A 🟢 reaction grades the first card.
    envelope = slack.reaction_envelope(
        added=True,
        user=ANA,
        channel=first["channel"],
        ts=first["ts"],
        reaction="large_green_circle",
    )
    assert (await slack.event(envelope)).status == 200
    recorded = await fake.wait_for(
        lambda: [t for t in map(block_text, fake.posted()) if "Strong Hire recorded" in t]
    )
    assert len(recorded) == 1

    # Slack retries the same event: acknowledged, and nothing happens twice.
    retried = await slack.event(envelope, retry_num=1)
    assert retried.status == 200
    await process.wait_for_log(f"ignoring repeated event {envelope['event_id']}")

    # The Reveal button turns the DM card into its answer.
    body = slack.action_body(
        action_id=f"drillbot:reveal:{card_post_id(first)}",
        post_id=card_post_id(first),
        user=ANA,
        channel=first["channel"],
        ts=first["ts"],
    )
    assert (await slack.action(body)).status == 200
    (edit,) = await fake.wait_for(lambda: fake.of("chat.update"))
    assert edit.args["ts"] == first["ts"] and "Model answer" in block_text(edit.args)

    # Requests that are not from Slack, or not anything Slack sends.
    marker = json.dumps(slack.event_envelope("event_message_im", text="stats FORGED-5150"))
    forged = await slack.post(marker, content_type="application/json", signature="v0=" + "0" * 64)
    stale = await slack.post(
        marker, content_type="application/json", timestamp=int(time.time()) - 3600
    )
    garbage = await slack.post("{oops", content_type="application/json")
    shapeless = await slack.post(json.dumps({"hello": 1}), content_type="application/json")
    assert [forged.status, stale.status, garbage.status, shapeless.status] == [401, 401, 400, 400]

    assert await process.stop() == 0
    log = process.log_text()
    assert "FORGED-5150" not in log
    assert BOT_TOKEN not in log and SIGNING_SECRET not in log
    assert len([t for t in map(block_text, fake.posted()) if "Strong Hire recorded" in t]) == 1

    members = rows(process.db, "SELECT external_id, timezone, display_name FROM members")
    assert members == [(ANA, "Asia/Tokyo", "Ana")]
    grades = rows(process.db, "SELECT post_id, grade FROM grades")
    assert grades == [(card_post_id(first), "strong")]
    assert rows(process.db, "SELECT count(*) FROM review_logs") == [(1,)]
    events = rows(
        process.db,
        f"SELECT count(*) FROM inbound_events WHERE event_id = '{envelope['event_id']}'",
    )
    assert events == [(1,)]
    sent = rows(process.db, "SELECT channel_ref, message_ref FROM posts WHERE status = 'sent'")
    assert sorted(sent) == sorted((card["channel"], card["ts"]) for card in cards)


def test_a_missing_token_stops_drillbot_with_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    env = {key: None for key in os.environ if key.startswith(("SLACK_", "DRILLBOT_"))}
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--platform",
            "slack",
            "--slack-mode",
            "http",
            "--db",
            f"sqlite:///{tmp_path}/x.db",
        ],
        env={**env, "SLACK_BOT_TOKEN": BOT_TOKEN},
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "drillbot: HTTP mode needs SLACK_SIGNING_SECRET (Basic Information, App Credentials, "
        "Signing Secret) to verify that requests come from Slack"
    ]
    assert BOT_TOKEN not in result.output


async def test_grades_acknowledged_before_a_kill_9_are_all_applied_after_the_restart(
    drillbot: tuple[Process, SlackSender], fake: FakeSlack, tmp_path: Path
) -> None:
    process, slack = drillbot
    assert (await slack.command("10")).status == 200
    cards = await fake.wait_for(lambda: len(fake.cards()) == 10 and fake.cards())

    def reaction(card: dict, *, added: bool, emoji: str) -> dict:
        return slack.reaction_envelope(
            added=added, user=ANA, channel=card["channel"], ts=card["ts"], reaction=emoji
        )

    async def grade_back_and_forth(card: dict) -> list[str]:
        """Ten times 🟢 then its removal, then 🔴: each acknowledged before the next."""
        envelopes = []
        for _ in range(10):
            envelopes.append(reaction(card, added=True, emoji="large_green_circle"))
            envelopes.append(reaction(card, added=False, emoji="large_green_circle"))
        envelopes.append(reaction(card, added=True, emoji="red_circle"))
        for envelope in envelopes:
            assert (await slack.event(envelope)).status == 200
        return [envelope["event_id"] for envelope in envelopes]

    # Ten senders at once, one a card; the process dies as the last answer arrives.
    acknowledged = [
        event_id
        for ids in await asyncio.gather(*(grade_back_and_forth(card) for card in cards))
        for event_id in ids
    ]
    process.proc.kill()
    await process.proc.wait()
    stored = rows(process.db, "SELECT status, count(*) FROM inbound_events GROUP BY status")
    assert sum(count for _, count in stored) >= len(acknowledged) == 210

    restarted = await launch(fake, tmp_path, port=free_port(), log_name="restarted.log")
    try:
        await restarted.wait_for_log("listening")
        deadline = time.monotonic() + 60
        while rows(restarted.db, "SELECT count(*) FROM inbound_events WHERE status != 'done'") != [
            (0,)
        ]:
            assert time.monotonic() < deadline, "the stored events were not all processed"
            await asyncio.sleep(0.2)
        assert await restarted.stop() == 0
    finally:
        if restarted.proc.returncode is None:
            restarted.proc.kill()
            await restarted.proc.wait()
    ids = ", ".join(f"'{event_id}'" for event_id in acknowledged)
    assert rows(restarted.db, f"SELECT count(*) FROM inbound_events WHERE event_id IN ({ids})") == [
        (210,)
    ]
    # Every event was applied once, in order: 21 grade events a card, and each card ends
    # on its last reaction, the 🔴.
    assert rows(restarted.db, "SELECT count(*) FROM grade_events") == [(210,)]
    assert rows(restarted.db, "SELECT DISTINCT grade FROM grades") == [("no",)]
    assert rows(restarted.db, "SELECT count(*) FROM grades") == [(10,)]
