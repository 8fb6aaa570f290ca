"""drillbot on Slack, in process: the real slack-bolt app served over HTTP (and Socket Mode),
the real core on a real database, and a local fake Slack Web API.

Requests are the recorded payloads in tests/fixtures/slack, signed with the signing
secret and posted like Slack posts them. The tests look at what a member would see
(messages, private answers, edits, reactions, files) and at the grades kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.slack.app import BOT_EVENTS, SLASH_COMMAND_SCOPE, SlackBot
from adapters.slack.port import METHOD_SCOPES, SlackPort, make_client
from adapters.slack.render import SLASH_COMMAND
from adapters.slack.runner import grade_emoji
from bank.loader import load_files
from bot.bootstrap import App, build
from bot.clock import FakeClock
from bot.config import Settings, load_settings
from bot.messages import Text
from bot.ports import PlatformError
from bot.storage.database import transaction
from bot.storage.models import Channel, Member, ReviewLog
from bot.storage.models import Grade as GradeRow
from tests.harness import SMALL_BANK
from tests.slack_fakes import (
    ANA,
    BEN,
    BOT_TOKEN,
    BOT_USER,
    CARA,
    SIGNING_SECRET,
    STUDY_CHANNEL,
    FakeSlack,
    SlackSender,
    block_text,
    card_post_id,
    dm_channel_of,
    load_fixture,
)

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = REPO / "deploy" / "slack"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
FAST = {"per_second": 1000, "per_channel_per_second": 1000, "burst": 100}


@dataclass
class SlackWorld:
    """A running drillbot on Slack and the fake Slack around it."""

    fake: FakeSlack
    bot: SlackBot
    core: App
    clock: FakeClock
    send: SlackSender

    async def settle(self) -> None:
        """Wait for the work the bot started after acknowledging (no sleeping)."""
        await self.bot.drain()

    async def rows(self, model, *where) -> list:
        async with transaction(self.core.sessions) as session:
            return list(await session.scalars(select(model).where(*where)))

    def dm_texts(self, user: str = ANA) -> list[str]:
        return [block_text(args) for args in self.fake.posted(dm_channel_of(user))]


def slack_settings(database_url: str, **slack: Any) -> Settings:
    base = load_settings(env={}, database_url=database_url)
    data = base.model_dump()
    data["rate_limits"] = {"slack": FAST}
    data["slack"] = {**data["slack"], **slack}
    return Settings.model_validate(data).model_copy(update={"database_url": database_url})


async def start_world(database_url: str, **slack: Any) -> tuple[SlackWorld, TestServer]:
    fake = await FakeSlack().start()
    fake.add_user(ANA, name="Ana", tz="Europe/Berlin")
    fake.add_user(BEN, name="Ben", tz="America/New_York")
    fake.add_user(CARA, name="Cara", admin=True)
    settings = slack_settings(database_url, **slack)
    client = make_client(token=BOT_TOKEN, base_url=fake.api_url)
    port = SlackPort(
        client=client, grade_emoji=grade_emoji(settings), response_url_hosts={"127.0.0.1"}
    )
    clock = FakeClock(START)
    core = await build(settings, ports={"slack": port}, clock=clock, bank=load_files([SMALL_BANK]))
    bot = SlackBot(
        settings=settings,
        service=core.service,
        port=port,
        signing_secret=SIGNING_SECRET,
        bot_user_id=BOT_USER,
    )
    server = TestServer(bot.web_app(path="/slack/events"), host="127.0.0.1")
    await server.start_server()
    sender = SlackSender(url=str(server.make_url("/slack/events")), fake=fake)
    return SlackWorld(fake=fake, bot=bot, core=core, clock=clock, send=sender), server


async def stop_world(world: SlackWorld, server: TestServer) -> None:
    await world.settle()
    await world.send.close()
    await server.close()
    await world.core.close()
    await world.fake.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'drillbot.db'}"


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[SlackWorld]:
    """On SQLite, and on PostgreSQL when configured."""
    running, server = await start_world(database_url)
    try:
        yield running
    finally:
        await stop_world(running, server)


@pytest.fixture
async def lite(sqlite_url: str) -> AsyncIterator[SlackWorld]:
    """SQLite only: for what does not depend on the database."""
    running, server = await start_world(sqlite_url)
    try:
        yield running
    finally:
        await stop_world(running, server)


# ---- helpers: members using Slack --------------------------------------------------------


async def drill(world: SlackWorld, text: str = "2", *, user: str = ANA) -> list[dict[str, Any]]:
    delivery = await world.send.command(text, user=user)
    assert delivery.status == 200 and delivery.body == ""  # acknowledged, nothing shown yet
    await world.settle()
    return world.fake.cards(dm_channel_of(user))


async def react(
    world: SlackWorld, card: dict[str, Any], reaction: str, *, user: str = ANA, added: bool = True
) -> dict[str, Any]:
    envelope = world.send.reaction_envelope(
        added=added, user=user, channel=card["channel"], ts=card["ts"], reaction=reaction
    )
    delivery = await world.send.event(envelope)
    assert delivery.status == 200
    await world.settle()
    return envelope


async def press(
    world: SlackWorld, card: dict[str, Any], action: str, *, user: str = ANA
) -> dict[str, Any]:
    post_id = card_post_id(card)
    assert post_id is not None
    body = world.send.action_body(
        action_id=f"drillbot:{action}:{post_id}",
        post_id=post_id,
        user=user,
        channel=card["channel"],
        ts=card["ts"],
    )
    delivery = await world.send.action(body)
    assert delivery.status == 200
    await world.settle()
    return body


async def grades(world: SlackWorld) -> dict[tuple[str, int], str]:
    async with transaction(world.core.sessions) as session:
        rows = await session.execute(
            select(Member.external_id, GradeRow.post_id, GradeRow.grade).join(
                Member, Member.id == GradeRow.member_id
            )
        )
        return {(user, post_id): grade for user, post_id, grade in rows}


async def daily_question_in_channel(world: SlackWorld) -> dict[str, Any]:
    """Cara (a workspace admin, per users.info) sets the channel's daily question, and the
    tick posts it at 09:00."""
    delivery = await world.send.command(
        "channel daily 09:00 UTC daily", user=CARA, channel=STUDY_CHANNEL
    )
    assert delivery.status == 200
    await world.settle()
    (answer,) = [a for a in world.fake.ephemerals() if "Done." in block_text(a)]
    assert answer["response_type"] == "ephemeral"
    world.clock.set(START.replace(hour=9, minute=5))
    await world.core.dispatcher.tick()
    await world.settle()
    (card,) = world.fake.cards(STUDY_CHANNEL)
    return card


# ---- drills, cards and grades ------------------------------------------------------------


async def test_drill_in_the_dm_sends_cards_with_buttons_and_grade_hints(
    world: SlackWorld,
) -> None:
    cards = await drill(world, "2")
    assert len(cards) == 2
    assert "Drill: 2 questions" in world.dm_texts()[0]  # the summary comes first
    for card in cards:
        header = card["blocks"][0]
        assert header["type"] == "header"
        assert " · " in header["text"]["text"]  # track · level · time budget
        post_id = card_post_id(card)
        (actions,) = [b for b in card["blocks"] if b["type"] == "actions"]
        assert [e["action_id"] for e in actions["elements"]] == [
            f"drillbot:{action}:{post_id}" for action in ("reveal", "strong", "lean", "no")
        ]
        hints = [name for channel, ts, name in world.fake.reactions if ts == card["ts"]]
        assert hints == ["large_green_circle", "large_yellow_circle", "red_circle"]
    assert len(world.fake.of("conversations.open")) == 1
    (member,) = await world.rows(Member, Member.external_id == ANA)
    assert member.display_name == "Ana" and member.timezone == "Europe/Berlin"


async def test_slack_hears_back_before_the_work_is_done(lite: SlackWorld) -> None:
    gate = lite.fake.hold("users.info")  # the first thing the work does: it cannot finish
    delivery = await lite.send.command("1")
    assert (delivery.status, delivery.body) == (200, "")  # yet Slack has its answer
    await lite.fake.wait_for(lambda: lite.fake.of("users.info"))
    assert lite.fake.posted() == []
    gate.set()
    await lite.settle()
    assert len(lite.fake.cards()) == 1


async def test_a_reaction_grades_and_a_retried_event_changes_nothing_twice(
    world: SlackWorld,
) -> None:
    card, _ = await drill(world, "2")
    post_id = card_post_id(card)
    envelope = await react(world, card, "large_green_circle")
    assert await grades(world) == {(ANA, post_id): "strong"}
    assert f"Strong Hire recorded for card #{post_id}" in world.dm_texts()[-1]
    messages = len(world.fake.posted())

    # Slack did not hear back in time and sends the same event again.
    delivery = await world.send.event(envelope, retry_num=1)
    await world.settle()
    assert delivery.status == 200
    assert len(world.fake.posted()) == messages
    assert await grades(world) == {(ANA, post_id): "strong"}
    assert len(await world.rows(ReviewLog)) == 1

    await react(world, card, "large_green_circle", added=False)
    assert await grades(world) == {}
    assert f"Removed your grade on card #{post_id}" in world.dm_texts()[-1]


async def test_the_bots_own_hints_and_other_emoji_are_ignored(lite: SlackWorld) -> None:
    (card,) = await drill(lite, "1")
    messages = len(lite.fake.posted())
    await react(lite, card, "large_green_circle", user=BOT_USER)
    await react(lite, card, "thumbsup")
    assert await grades(lite) == {}
    assert len(lite.fake.posted()) == messages


async def test_buttons_reveal_by_editing_the_dm_card_and_grade_like_reactions(
    world: SlackWorld,
) -> None:
    card, _ = await drill(world, "2")
    post_id = card_post_id(card)
    await press(world, card, "reveal")
    (edit,) = world.fake.of("chat.update")
    assert edit.args["ts"] == card["ts"] and edit.args["channel"] == card["channel"]
    text = block_text(edit.args)
    assert "Model answer" in text and "Strong Hire" in text and "Rubric" in text
    assert world.fake.ephemerals() == []

    await press(world, card, "lean")
    assert await grades(world) == {(ANA, post_id): "lean"}
    assert f"Lean Hire recorded for card #{post_id}" in world.dm_texts()[-1]


async def test_the_channel_question_reveals_privately_and_takes_everyones_grades(
    world: SlackWorld,
) -> None:
    card = await daily_question_in_channel(world)
    post_id = card_post_id(card)
    hints = [name for channel, ts, name in world.fake.reactions if ts == card["ts"]]
    assert len(hints) == 3

    before = len(world.fake.ephemerals())
    body = await press(world, card, "reveal", user=BEN)
    (answer,) = world.fake.ephemerals()[before:]
    assert answer["url"] == body["response_url"]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "Model answer" in block_text(answer)
    assert world.fake.of("chat.update") == []  # the shared card stays as it is

    await react(world, card, "large_yellow_circle", user=BEN)
    await press(world, card, "no", user=ANA)
    assert await grades(world) == {(BEN, post_id): "lean", (ANA, post_id): "no"}
    private = world.fake.of("chat.postEphemeral")
    assert [c.args["user"] for c in private] == [BEN]  # a reaction has no response URL
    assert "Lean Hire recorded" in block_text(private[0].args)


async def test_only_admins_set_the_channel_question(sqlite_url: str) -> None:
    running, server = await start_world(sqlite_url, admin_user_ids=[BEN])
    try:
        await running.send.command("channel daily 09:00", user=ANA, channel=STUDY_CHANNEL)
        await running.settle()
        assert "Only admins" in block_text(running.fake.ephemerals()[-1])
        assert await running.rows(Channel) == []

        # Ben is not a workspace admin, but the config names him.
        await running.send.command("channel daily 09:00", user=BEN, channel=STUDY_CHANNEL)
        await running.settle()
        assert "Done." in block_text(running.fake.ephemerals()[-1])
        (channel,) = await running.rows(Channel)
        assert channel.daily_enabled and channel.updated_by == BEN
    finally:
        await stop_world(running, server)


# ---- commands: /drill subcommands, DMs, mentions -----------------------------------------


async def test_an_unknown_subcommand_gets_a_private_usage_hint(lite: SlackWorld) -> None:
    delivery = await lite.send.command("fly", channel=STUDY_CHANNEL)
    assert delivery.status == 200
    answer = json.loads(delivery.body)
    assert answer["response_type"] == "ephemeral"
    assert "unknown /drill subcommand 'fly'" in answer["text"]
    assert "quickfire" in answer["text"]
    delivery = await lite.send.command("quickfire lots", channel=STUDY_CHANNEL)
    assert "Usage: /drill quickfire [n] [track]" in json.loads(delivery.body)["text"]
    await lite.settle()
    assert lite.fake.visible() == []  # nothing reached the core


async def test_help_names_commands_the_slack_way(lite: SlackWorld) -> None:
    await lite.send.command("help")
    await lite.settle()
    text = lite.dm_texts()[-1]
    assert "/drill subscribe [time]" in text and "/drill quickfire [n]" in text
    assert "/drillbot" not in text


async def test_subcommands_reach_the_schedule(lite: SlackWorld) -> None:
    await lite.send.command("subscribe 07:45 weekdays quickfire=2")
    await lite.settle()
    assert "07:45" in lite.dm_texts()[-1]
    assert "Europe/Berlin" in lite.dm_texts()[-1]  # the member's Slack timezone
    await lite.send.command("pause until 2026-12-01")
    await lite.settle()
    assert "Paused" in lite.dm_texts()[-1]


async def test_commands_typed_in_the_dm_and_after_a_mention(lite: SlackWorld) -> None:
    envelope = lite.send.event_envelope("event_message_im")  # "quickfire 2"
    assert (await lite.send.event(envelope)).status == 200
    await lite.settle()
    assert len(lite.fake.cards(dm_channel_of(ANA))) == 1  # the round's first card

    envelope = lite.send.event_envelope("event_message_im", text="quikfire 2")
    await lite.send.event(envelope)
    await lite.send.event(envelope, retry_num=1)
    await lite.settle()
    hints = [t for t in lite.dm_texts() if "unknown /drill subcommand 'quikfire'" in t]
    assert len(hints) == 1  # and not again for Slack's retry

    envelope = lite.send.event_envelope("event_app_mention")  # "@drillbot stats"
    await lite.send.event(envelope)
    await lite.settle()
    (private,) = lite.fake.of("chat.postEphemeral")
    assert private.args["channel"] == STUDY_CHANNEL and private.args["user"] == ANA
    assert "Your stats are in your DM" in block_text(private.args)
    (upload,) = lite.fake.of("files.completeUploadExternal")
    assert upload.args["channel_id"] == dm_channel_of(ANA)
    (file,) = upload.args["files"]
    assert lite.fake.uploads[file["id"]].startswith(b"\x89PNG")
    assert len(lite.fake.of("users.info")) == 1  # one lookup for all of it, cached


async def test_a_command_in_a_dm_between_two_members_answers_privately(lite: SlackWorld) -> None:
    shared_dm = "D0ANABEN01"  # Ana and Ben's conversation: the bot is not in it
    delivery = await lite.send.command("1", channel=shared_dm)
    assert delivery.status == 200
    await lite.settle()
    (summary,) = [a for a in lite.fake.ephemerals() if "Drill: 1 question" in block_text(a)]
    assert summary["response_type"] == "ephemeral"
    assert len(lite.fake.cards(dm_channel_of(ANA))) == 1  # the card still reaches her DM
    assert lite.fake.cards(shared_dm) == []


async def test_the_bots_own_dm_messages_and_threaded_answers_are_left_alone(
    lite: SlackWorld,
) -> None:
    own = lite.send.event_envelope("event_message_im", user=BOT_USER, bot_id="B0DRILLBOT")
    thread = lite.send.event_envelope(
        "event_message_im", text="ReLU, because...", thread_ts="1764000001.000001"
    )
    edit = lite.send.event_envelope("event_message_im", subtype="message_changed")
    for envelope in (own, thread, edit):
        assert (await lite.send.event(envelope)).status == 200
    await lite.settle()
    assert lite.fake.posted() == []


# ---- reliability -------------------------------------------------------------------------


async def test_a_rate_limited_post_waits_retry_after_and_is_sent_once(lite: SlackWorld) -> None:
    lite.fake.rate_limit_next("chat.postMessage", retry_after=1)
    await lite.send.command("1")
    await lite.settle()
    attempts = lite.fake.of("chat.postMessage")
    assert attempts[0].args["error"] == "ratelimited"
    assert len(lite.fake.cards()) == 1
    assert len(lite.fake.posted()) == 2  # the summary and the card, each once


async def test_a_channel_the_bot_was_removed_from_is_reported_to_its_admin_once(
    world: SlackWorld,
) -> None:
    await daily_question_in_channel(world)
    world.fake.gone_channels[STUDY_CHANNEL] = "not_in_channel"
    before = len(world.fake.calls)
    for day in (1, 2, 3):
        world.clock.set(START.replace(hour=9, minute=5) + timedelta(days=day))
        await world.core.dispatcher.tick()
        await world.core.service.outbox.resume_pending()
        await world.settle()
    attempts = [
        call for call in world.fake.calls[before:] if call.args.get("channel") == STUDY_CHANNEL
    ]
    assert [(c.method, c.args.get("error")) for c in attempts] == [
        ("chat.postMessage", "not_in_channel")  # tried once, not every day
    ]
    notices = [t for t in world.dm_texts(CARA) if "could not post the daily question" in t]
    assert len(notices) == 1 and "not_in_channel" in notices[0]
    (channel,) = await world.rows(Channel)
    assert not channel.daily_enabled


async def test_slack_errors_become_the_cores_platform_errors(lite: SlackWorld) -> None:
    port = lite.bot.port
    lite.fake.gone_channels["C0GONE0001"] = "channel_not_found"
    with pytest.raises(PlatformError) as gone:
        await port.post(channel_ref="C0GONE0001", message=Text(text="hello"))
    assert gone.value.code == "channel_gone" and gone.value.permanent

    lite.fake.closed_dms[BEN] = "cannot_dm_bot"
    with pytest.raises(PlatformError) as closed:
        await port.send_dm(user_ref=BEN, message=Text(text="hello"))
    assert closed.value.code == "dm_closed" and closed.value.permanent

    lite.fake.rate_limit_next("chat.postMessage", retry_after=0, times=3)
    with pytest.raises(PlatformError) as limited:
        await port.post(channel_ref=STUDY_CHANNEL, message=Text(text="hello"))
    assert limited.value.retry_after == 0 and not limited.value.permanent
    assert len(lite.fake.of("chat.postMessage")) == 4  # slack_sdk retried twice first

    lite.fake.fail_next("chat.postMessage", "internal_error", status=500)
    with pytest.raises(PlatformError) as outage:
        await port.post(channel_ref=STUDY_CHANNEL, message=Text(text="hello"))
    assert not outage.value.permanent and outage.value.code == ""


# ---- HTTP mode: who may call ---------------------------------------------------------------


async def test_requests_are_verified_and_rejections_log_no_body(
    lite: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps(lite.send.event_envelope("event_message_im", text="stats MARKER-7731"))
    bad = await lite.send.post(body, content_type="application/json", signature="v0=" + "0" * 64)
    stale = await lite.send.post(
        body, content_type="application/json", timestamp=int(START.timestamp()) - 3600
    )
    other = lite.send.__class__(url=lite.send.url, fake=lite.fake, secret="not-the-secret")
    forged = await other.post(body, content_type="application/json")
    await other.close()
    assert [bad.status, stale.status, forged.status] == [401, 401, 401]
    await lite.settle()
    assert lite.fake.visible() == []
    assert "MARKER-7731" not in caplog.text
    assert "bad, stale or missing signature" in caplog.text
    assert SIGNING_SECRET not in caplog.text and BOT_TOKEN not in caplog.text


async def test_malformed_bodies_get_400_and_the_url_check_is_answered(lite: SlackWorld) -> None:
    garbage = await lite.send.post("{not json", content_type="application/json")
    not_signed = await lite.send.post(
        "{not json", content_type="application/json", signature="v0=" + "1" * 64
    )
    no_type = await lite.send.post(json.dumps({"hello": "world"}), content_type="application/json")
    no_event = await lite.send.post(
        json.dumps({"type": "event_callback", "event_id": "Ev1", "team_id": "T1"}),
        content_type="application/json",
    )
    assert [garbage.status, not_signed.status, no_type.status, no_event.status] == [
        400,
        401,
        400,
        400,
    ]
    challenge = load_fixture("url_verification")
    answer = await lite.send.post(json.dumps(challenge), content_type="application/json")
    assert answer.status == 200 and challenge["challenge"] in answer.body


# ---- Socket Mode -----------------------------------------------------------------------


async def test_socket_mode_receives_the_same_payloads(lite: SlackWorld) -> None:
    from tests.slack_fakes import APP_TOKEN

    handler = lite.bot.socket_mode(app_token=APP_TOKEN)
    await handler.connect_async()
    try:
        await lite.fake.socket_connected()
        (opened,) = lite.fake.of("apps.connections.open")
        assert opened.token == "app"
        ack = await lite.fake.socket_send("slash_commands", lite.send.command_body("1"))
        assert set(ack) == {"envelope_id"}  # acknowledged, nothing to show
        await lite.settle()
        (card,) = lite.fake.cards(dm_channel_of(ANA))

        envelope = lite.send.reaction_envelope(
            added=True, user=ANA, channel=card["channel"], ts=card["ts"], reaction="red_circle"
        )
        await lite.fake.socket_send("events_api", envelope)
        await lite.settle()
        assert await grades(lite) == {(ANA, card_post_id(card)): "no"}

        ack = await lite.fake.socket_send("slash_commands", lite.send.command_body("fly"))
        assert "unknown /drill subcommand" in ack["payload"]["text"]

        # Envelopes bolt's middleware cannot read are acknowledged and logged, and the
        # connection keeps serving.
        for payload in (
            {"type": "event_callback", "event": [1]},
            {"type": "block_actions", "actions": ["x", 1, None]},
            {"type": "x", "team_id": ["T"]},
        ):
            ack = await lite.fake.socket_send("events_api", payload)
            assert set(ack) == {"envelope_id"}
        ack = await lite.fake.socket_send("slash_commands", lite.send.command_body("1"))
        await lite.settle()
        assert len(lite.fake.cards(dm_channel_of(ANA))) == 2
    finally:
        await handler.close_async()


# ---- the manifests -----------------------------------------------------------------------


def _manifest(name: str) -> dict[str, Any]:
    return yaml.safe_load((MANIFESTS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["manifest.yml", "manifest-http.yml"])
def test_the_manifests_ask_for_exactly_what_the_code_uses(name: str) -> None:
    manifest = _manifest(name)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = {scope for scope in METHOD_SCOPES.values() if scope}
    needed |= set(BOT_EVENTS.values()) | {SLASH_COMMAND_SCOPE}
    assert scopes == needed
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == set(BOT_EVENTS)
    assert settings["interactivity"]["is_enabled"] is True
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [SLASH_COMMAND]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False
    http = name == "manifest-http.yml"
    assert settings["socket_mode_enabled"] is not http
    if http:
        path = Settings().slack.http_path
        urls = [
            settings["event_subscriptions"]["request_url"],
            settings["interactivity"]["request_url"],
            commands[0]["url"],
        ]
        assert all(url.startswith("https://") and url.endswith(path) for url in urls)


async def test_every_web_api_method_the_bot_calls_has_its_scope_in_the_manifest(
    lite: SlackWorld,
) -> None:
    card, _ = await drill(lite, "2")
    await press(lite, card, "reveal")
    await lite.send.event(lite.send.event_envelope("event_app_mention"))  # stats: a file
    await lite.settle()
    await lite.send.command("leaderboard", channel=STUDY_CHANNEL)
    await lite.settle()
    called = lite.fake.methods() - {"upload", "response_url"}
    assert {"chat.update", "files.completeUploadExternal", "chat.postEphemeral"} <= called
    assert called <= set(METHOD_SCOPES), called - set(METHOD_SCOPES)
    granted = set(_manifest("manifest.yml")["oauth_config"]["scopes"]["bot"])
    assert {METHOD_SCOPES[m] for m in called if METHOD_SCOPES[m]} <= granted


# ---- the runner: drillbot run --platform slack -------------------------------------------


def runner_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    from tests.slack_fakes import APP_TOKEN

    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "DRILLBOT_SLACK_API_URL": fake.api_url,
        **extra,
    }


async def test_serve_slack_in_socket_mode(sqlite_url: str) -> None:
    import asyncio

    from adapters.slack.runner import serve_slack

    fake = await FakeSlack().start()
    fake.add_user(ANA, name="Ana", tz="Europe/Berlin")
    stop = asyncio.Event()
    ready = asyncio.Event()
    bots: list[SlackBot] = []

    def started(bot: SlackBot) -> None:
        bots.append(bot)
        ready.set()

    serving = asyncio.ensure_future(
        serve_slack(
            settings=slack_settings(sqlite_url),
            mode="socket",
            env=runner_env(fake),
            bank=load_files([SMALL_BANK]),
            stop=stop,
            started=started,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await fake.socket_connected()
        sender = SlackSender(url="unused", fake=fake)
        await fake.socket_send("slash_commands", sender.command_body("1"))
        await bots[0].drain()
        assert len(fake.cards(dm_channel_of(ANA))) == 1
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)
        await fake.close()
    assert [c.token for c in fake.of("apps.connections.open")] == ["app"]


async def test_serve_slack_explains_what_is_missing(sqlite_url: str) -> None:
    from adapters.slack.runner import SlackSetupError, serve_slack

    fake = await FakeSlack().start()
    settings = slack_settings(sqlite_url)
    try:
        cases = [
            ({"SLACK_APP_TOKEN": "x"}, "socket", "set SLACK_BOT_TOKEN"),
            ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "socket", "Socket Mode needs SLACK_APP_TOKEN"),
            ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "http", "HTTP mode needs SLACK_SIGNING_SECRET"),
            (
                runner_env(fake, SLACK_BOT_TOKEN="xoxb-revoked", SLACK_SIGNING_SECRET="s"),
                "http",
                "Slack refused SLACK_BOT_TOKEN (invalid_auth)",
            ),
        ]
        for env, mode, message in cases:
            with pytest.raises(SlackSetupError) as error:
                await serve_slack(settings=settings, mode=mode, env=env)
            assert message in str(error.value)
            assert "xoxb-revoked" not in str(error.value)
    finally:
        await fake.close()


async def test_no_crafted_request_gets_a_server_error(
    lite: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    send = lite.send
    deep = "[" * 1000 + "]" * 1000
    block_actions = {**load_fixture("block_actions"), "actions": ["x", 1, None]}
    listed_event = {**lite.send.event_envelope("event_message_im", text="hi"), "event": [1]}
    statuses = {
        "timestamp abc": (
            await send.post("{}", content_type="application/json", headers=ts("abc"))
        ).status,
        "timestamp empty": (
            await send.post("{}", content_type="application/json", headers=ts(""))
        ).status,
        "deep, unsigned": (
            await send.post(deep, content_type="application/json", signature="v0=" + "0" * 64)
        ).status,
        "deep, signed": (await send.post(deep, content_type="application/json")).status,
        "deep payload form": (
            await send.post(
                "payload=" + quote(deep), content_type="application/x-www-form-urlencoded"
            )
        ).status,
        "actions not objects": (
            await send.post(
                "payload=" + quote(json.dumps(block_actions)),
                content_type="application/x-www-form-urlencoded",
            )
        ).status,
        "event is a list": (
            await send.post(json.dumps(listed_event), content_type="application/json")
        ).status,
        "no challenge": (
            await send.post(
                json.dumps({"type": "url_verification", "token": "t"}),
                content_type="application/json",
            )
        ).status,
    }
    assert statuses == {
        "timestamp abc": 401,
        "timestamp empty": 401,
        "deep, unsigned": 401,
        "deep, signed": 400,
        "deep payload form": 400,
        "actions not objects": 400,
        "event is a list": 400,
        "no challenge": 400,
    }
    huge = json.dumps({"type": "event_callback", "padding": "x" * (2 * 1024 * 1024)})
    assert (await send.post(huge, content_type="application/json")).status == 413
    for _ in range(5):  # a flood of the same kind is one line a minute
        await send.post(deep, content_type="application/json")
    assert "Traceback" not in caplog.text
    assert caplog.text.count("nested too deep") == 1
    # Still serving.
    assert (await send.command("1")).status == 200


def ts(value: str) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": value}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "event",
                    "actions",
                    "team",
                    "user",
                    "channel",
                    "container",
                    "command",
                    "team_id",
                    "user_id",
                    "channel_id",
                    "text",
                    "challenge",
                    "payload",
                    "event_id",
                    "action_id",
                    "value",
                    "item",
                    "reaction",
                    "message_ts",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)
SLACK_SHAPED = st.fixed_dictionaries(
    {"type": st.sampled_from(["event_callback", "block_actions", "url_verification", "x"])},
    optional={
        "event": JSON_VALUES,
        "actions": JSON_VALUES,
        "team": JSON_VALUES,
        "user": JSON_VALUES,
        "team_id": JSON_VALUES,
        "event_id": JSON_VALUES,
        "container": JSON_VALUES,
        "challenge": JSON_VALUES,
    },
)


# Derandomized so that CI is repeatable; to look further, drop derandomize and raise
# max_examples locally (three random runs of 2,000 bodies found nothing more).
@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=JSON_VALUES | SLACK_SHAPED,
    as_form=st.booleans(),
    signed=st.booleans(),
)
async def test_any_body_signed_or_not_gets_no_server_error(
    lite: SlackWorld, body: Any, as_form: bool, signed: bool
) -> None:
    text = json.dumps(body)
    if as_form:
        text, content_type = "payload=" + quote(text), "application/x-www-form-urlencoded"
    else:
        content_type = "application/json"
    delivery = await lite.send.post(
        text, content_type=content_type, signature=None if signed else "v0=" + "0" * 64
    )
    assert delivery.status < 500, (delivery.status, delivery.body)
    if not signed:
        assert delivery.status == 401


@pytest.mark.parametrize("action_id", ["drillbot:explode:1", "legacy-reveal", "x" * 200])
async def test_a_button_drillbot_does_not_know_is_answered(
    lite: SlackWorld, action_id: str
) -> None:
    cards = await drill(lite, "1")
    body = lite.send.action_body(
        action_id=action_id,
        post_id=1,
        user=ANA,
        channel=cards[0]["channel"],
        ts=cards[0]["ts"],
    )
    assert (await lite.send.action(body)).status == 200
    (answer,) = await lite.fake.wait_for(lambda: lite.fake.ephemerals())
    assert "older card" in answer["text"] and answer["response_type"] == "ephemeral"
