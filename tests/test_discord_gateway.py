"""drillbot on Discord end to end: the real discord.py client against a local fake Discord
(REST and gateway) and the real core on a real database.

Gateway payloads are recorded in Discord's documented shapes (tests/fixtures/discord) and
parsed by discord.py's own connection state, so the adapter sees exactly the objects the
library builds in production. The tests look at what a member would see: messages, edits,
private answers, and grades kept.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from adapters.discord.app import DiscordSetupError
from adapters.discord.render import CARD_BUTTON_TEMPLATE
from adapters.discord.runner import API_URL_ENV, TOKEN_ENV, serve_discord
from bot.config import load_settings
from bot.dispatch import Dispatcher
from bot.storage.database import transaction
from bot.storage.models import Channel, Member, Post
from bot.storage.models import Grade as GradeRow
from tests.discord_fakes import (
    APPLICATION_ID,
    BOT_ID,
    DM_CHANNEL,
    FakeDiscord,
    RunningBot,
    fake_discord_fixture,  # noqa: F401  (a fixture)
    run_bot,
    running_bot_fixture,  # noqa: F401  (a fixture)
    sharded_fake_discord_fixture,  # noqa: F401  (a fixture)
)

ANA = 1300000000000000500
BEN = 1300000000000000600
VIEW_SEND_REACT = (1 << 10) | (1 << 11) | (1 << 6)
MANAGE_GUILD = 1 << 5
DEFERRED_WITH_SOURCE, DEFERRED_UPDATE, MESSAGE_WITH_SOURCE = 5, 6, 4
EPHEMERAL = 64

_tokens = itertools.count(1)


# ---- helpers: a member using Discord -----------------------------------------------------


async def slash(
    fake: FakeDiscord,
    *,
    channel: int,
    guild: int | None = None,
    user: int = ANA,
    permissions: int = VIEW_SEND_REACT,
    data: dict[str, Any] | None = None,
) -> str:
    """Run a slash command (the recorded /drill unless `data` says otherwise); its token."""
    token = f"token-{next(_tokens)}"
    values = dict(
        interaction_id=fake.snowflake(),
        application_id=APPLICATION_ID,
        command_id=fake.snowflake(),
        channel_id=channel,
        user_id=user,
        app_permissions=0,
        token=token,
    )
    overrides = {"data": {"id": str(fake.snowflake()), "type": 1, **data}} if data else None
    await interaction(
        fake, "command", guild=guild, permissions=permissions, overrides=overrides, **values
    )
    return token


async def press(
    fake: FakeDiscord,
    *,
    message: dict[str, Any],
    custom_id: str,
    guild: int | None = None,
    user: int = ANA,
) -> str:
    token = f"token-{next(_tokens)}"
    values = dict(
        interaction_id=fake.snowflake(),
        application_id=APPLICATION_ID,
        channel_id=int(message["channel_id"]),
        user_id=user,
        app_permissions=0,
        token=token,
        custom_id=custom_id,
        message=message,
    )
    await interaction(fake, "button", guild=guild, permissions=VIEW_SEND_REACT, **values)
    return token


async def interaction(
    fake: FakeDiscord, kind: str, *, guild: int | None, permissions: int, **values: Any
) -> None:
    """The recorded INTERACTION_CREATE of this kind, in a DM or (with `guild`) a server."""
    if guild is None:
        await fake.send_fixture(f"interaction_create_{kind}_dm", **values)
    else:
        await fake.send_fixture(
            f"interaction_create_{kind}_guild",
            guild_id=guild,
            member_permissions=permissions,
            **values,
        )


async def react(
    fake: FakeDiscord,
    *,
    message: dict[str, Any],
    emoji: str,
    user: int = ANA,
    remove: bool = False,
    guild: int | None = None,
) -> None:
    kind = "remove" if remove else "add"
    where = "guild" if guild is not None else "dm"
    values = dict(
        user_id=user,
        channel_id=int(message["channel_id"]),
        message_id=int(message["id"]),
        emoji=emoji,
        bot_id=BOT_ID,
    )
    if guild is not None:
        values["guild_id"] = guild
    await fake.send_fixture(f"message_reaction_{kind}_{where}", **values)


def dm_channel_of(fake: FakeDiscord, user: int) -> int | None:
    for channel in fake.channels.values():
        if channel["type"] == DM_CHANNEL and channel.get("recipient") == user:
            return channel["id"]
    return None


def cards(fake: FakeDiscord, channel: int | None) -> list[dict[str, Any]]:
    if channel is None:
        return []
    return [
        m
        for m in fake.created(channel)
        if m["embeds"] and m["embeds"][0].get("title", "").startswith("Card #")
    ]


def texts(fake: FakeDiscord, channel: int | None) -> list[str]:
    if channel is None:
        return []
    return [m["content"] for m in fake.created(channel) if m["content"]]


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [button["custom_id"] for row in message["components"] for button in row["components"]]


def answer_text(call) -> str:
    payload = call.json or {}
    embeds = payload.get("embeds") or []
    parts = [payload.get("content") or ""]
    parts += [(e.get("title") or "") + "\n" + (e.get("description") or "") for e in embeds]
    return "\n".join(parts)


async def grades(running: RunningBot) -> list[GradeRow]:
    async with transaction(running.service.sessions) as session:
        return list(await session.scalars(select(GradeRow).order_by(GradeRow.id)))


async def drill_in_dm(fake: FakeDiscord, *, user: int = ANA) -> dict[str, Any]:
    """/drill in the member's DM (the recorded payload asks for one card); the card."""
    channel = fake.add_channel(guild_id=None, kind=DM_CHANNEL)
    fake.channels[channel]["recipient"] = user
    before = len(cards(fake, channel))
    await slash(fake, channel=channel, user=user)
    found = await fake.wait_for(lambda: cards(fake, channel)[before:])
    await fake.wait_for(lambda: len(fake.reactions()) >= 3 * len(cards(fake, channel)))
    return found[0]


# ---- the tests ---------------------------------------------------------------------------


async def test_start_identifies_without_privileged_intents_and_syncs_every_command(
    fake: FakeDiscord, running: RunningBot
) -> None:
    (identify,) = fake.identifies
    guilds, guild_reactions, dm_messages, dm_reactions = 1 << 0, 1 << 10, 1 << 12, 1 << 13
    assert identify["intents"] == guilds | guild_reactions | dm_messages | dm_reactions
    assert identify["token"] == "fake-bot-token"
    (sync,) = fake.of("PUT", rf"/applications/{APPLICATION_ID}/commands")
    names = {command["name"] for command in sync.json}
    assert {"drill", "mock", "leaderboard", "stats", "help", "drillbot"} <= names


async def test_drill_in_a_server_channel_answers_privately_and_sends_cards_by_dm(
    fake: FakeDiscord, running: RunningBot
) -> None:
    guild = fake.guild_for_shard(0)
    channel = fake.add_channel(guild_id=guild)

    token = await slash(fake, channel=channel, guild=guild)  # the recorded /drill count:2

    answers = await fake.wait_for(lambda: fake.answers_to(token))
    (callback,) = [c for c in fake.interaction_callbacks() if token in c.path]
    assert callback.json == {"type": DEFERRED_WITH_SOURCE, "data": {"flags": EPHEMERAL}}
    assert "Sent you 2 questions in a DM" in answer_text(answers[0])
    dm = dm_channel_of(fake, ANA)
    sent = cards(fake, dm)
    assert len(sent) == 2
    assert len(fake.of("POST", r"/users/@me/channels")) == 1  # opened once, then cached
    for card in sent:
        ids = custom_ids(card)
        assert [i.split(":")[2] for i in ids] == ["reveal", "strong", "lean", "no"]
        assert all(re.fullmatch(CARD_BUTTON_TEMPLATE, i) for i in ids)
        assert card["nonce"].startswith("card-")
    await fake.wait_for(lambda: len(fake.reactions()) == 6)
    hints = {(m, e) for _, m, e in fake.reactions()}
    assert hints == {(c["id"], e) for c in sent for e in ("🟢", "🟡", "🔴")}
    assert texts(fake, channel) == []  # nothing public in the channel


async def test_dm_reaction_grades_and_a_replay_after_resume_changes_nothing(
    fake: FakeDiscord, running: RunningBot
) -> None:
    card = await drill_in_dm(fake)
    dm = int(card["channel_id"])

    await react(fake, message=card, emoji="🟢")
    await fake.wait_for(lambda: any("Strong Hire recorded" in t for t in texts(fake, dm)))

    # The gateway reconnects and Discord delivers that reaction again on resume.
    await fake.reconnect(replay_last=1)
    # A later event from the same member on the same card is handled after the replay.
    await react(fake, message=card, emoji="🟡")
    await fake.wait_for(lambda: any("changed to" in t for t in texts(fake, dm)))

    replies = texts(fake, dm)
    assert len([t for t in replies if "Strong Hire recorded" in t]) == 1
    assert not any("already graded" in t for t in replies)
    (grade,) = await grades(running)
    assert grade.grade == "lean"


async def test_taking_a_reaction_back_and_giving_it_again_counts_again(
    fake: FakeDiscord, running: RunningBot
) -> None:
    card = await drill_in_dm(fake)
    dm = int(card["channel_id"])

    await react(fake, message=card, emoji="🟢")
    await fake.wait_for(lambda: any("recorded" in t for t in texts(fake, dm)))
    await react(fake, message=card, emoji="🟢", remove=True)
    await fake.wait_for(lambda: any("Removed your grade" in t for t in texts(fake, dm)))
    await react(fake, message=card, emoji="🟢")
    await fake.wait_for(lambda: len([t for t in texts(fake, dm) if "recorded" in t]) == 2)

    (grade,) = await grades(running)
    assert grade.grade == "strong"


async def test_own_reactions_and_other_emoji_are_ignored(
    fake: FakeDiscord, running: RunningBot
) -> None:
    card = await drill_in_dm(fake)  # the bot's own 🟢 🟡 🔴 came back through the gateway
    dm = int(card["channel_id"])

    await react(fake, message=card, emoji="👍")
    await react(fake, message=card, emoji="🔴")
    await fake.wait_for(lambda: any("No Hire recorded" in t for t in texts(fake, dm)))

    assert [t for t in texts(fake, dm) if "No Hire" not in t] == []
    assert [g.grade for g in await grades(running)] == ["no"]


async def test_reveal_button_in_a_dm_turns_the_card_into_its_answer(
    fake: FakeDiscord, running: RunningBot
) -> None:
    card = await drill_in_dm(fake)
    post_id = int(custom_ids(card)[0].rsplit(":", 1)[1])

    token = await press(fake, message=card, custom_id=custom_ids(card)[0])

    edit = await fake.wait_for(
        lambda: fake.of("PATCH", rf"/channels/{card['channel_id']}/messages/{card['id']}")
    )
    (callback,) = [c for c in fake.interaction_callbacks() if token in c.path]
    assert callback.json == {"type": DEFERRED_UPDATE}
    embed = edit[0].json["embeds"][0]
    assert embed["title"].startswith(f"Answer to card #{post_id}")
    assert {f["name"] for f in embed["fields"]} >= {"🟢 Strong Hire", "🟡 Lean Hire", "🔴 No Hire"}
    assert [i.split(":")[2] for i in custom_ids(edit[0].json)] == ["strong", "lean", "no"]


@pytest.mark.parametrize(
    "custom_id", ["drillbot:card:explode:1", "card:reveal:12", "x" * 100, "drillbot:reveal:1"]
)
async def test_a_button_drillbot_does_not_know_is_answered_not_left_to_fail(
    fake: FakeDiscord, running: RunningBot, custom_id: str
) -> None:
    card = await drill_in_dm(fake)
    token = await press(fake, message=card, custom_id=custom_id)
    (callback,) = await fake.wait_for(
        lambda: [c for c in fake.interaction_callbacks() if token in c.path]
    )
    assert callback.json["type"] == 4  # a message, within Discord's 3 seconds
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert "older card" in callback.json["data"]["content"]
    assert await grades(running) == []


async def test_buttons_in_a_channel_answer_privately(
    fake: FakeDiscord, running: RunningBot
) -> None:
    card = await drill_in_dm(fake)
    post_id = int(custom_ids(card)[0].rsplit(":", 1)[1])
    guild = fake.guild_for_shard(0)
    channel = fake.add_channel(guild_id=guild)

    token = await slash(
        fake,
        channel=channel,
        guild=guild,
        data={"name": "reveal", "options": [{"name": "card", "type": 4, "value": post_id}]},
    )
    (reveal,) = await fake.wait_for(lambda: fake.answers_to(token))
    assert f"Answer to card #{post_id}" in answer_text(reveal)
    revealed = fake.messages[max(fake.messages)]  # the private answer, with grade buttons
    assert revealed["flags"] == EPHEMERAL

    token = await press(fake, message=revealed, custom_id=custom_ids(revealed)[0], guild=guild)

    (answer,) = await fake.wait_for(lambda: fake.answers_to(token))
    assert answer.json["flags"] & EPHEMERAL
    assert "Strong Hire recorded" in answer_text(answer)
    assert texts(fake, channel) == []
    assert [g.grade for g in await grades(running)] == ["strong"]


async def test_channel_admin_commands_need_manage_server(
    fake: FakeDiscord, running: RunningBot
) -> None:
    guild = fake.guild_for_shard(0)
    channel = fake.add_channel(guild_id=guild)
    daily = {
        "name": "drillbot",
        "options": [
            {
                "name": "channel",
                "type": 2,
                "options": [
                    {
                        "name": "daily",
                        "type": 1,
                        "options": [
                            {"name": "time", "type": 3, "value": "09:00"},
                            {"name": "timezone", "type": 3, "value": "Europe/Berlin"},
                        ],
                    }
                ],
            }
        ],
    }

    token = await slash(fake, channel=channel, guild=guild, user=BEN, data=daily)
    (refused,) = await fake.wait_for(lambda: fake.answers_to(token))
    assert "Only admins" in answer_text(refused)

    token = await slash(
        fake, channel=channel, guild=guild, permissions=VIEW_SEND_REACT | MANAGE_GUILD, data=daily
    )
    (accepted,) = await fake.wait_for(lambda: fake.answers_to(token))
    assert "09:00" in answer_text(accepted) and "Only admins" not in answer_text(accepted)


async def test_a_mistyped_option_is_explained_at_once_and_privately(
    fake: FakeDiscord, running: RunningBot
) -> None:
    guild = fake.guild_for_shard(0)
    channel = fake.add_channel(guild_id=guild)
    subscribe = {
        "name": "drillbot",
        "options": [
            {
                "name": "subscribe",
                "type": 1,
                "options": [{"name": "time", "type": 3, "value": "8h"}],
            }
        ],
    }

    token = await slash(fake, channel=channel, guild=guild, data=subscribe)

    (callback,) = await fake.wait_for(
        lambda: [c for c in fake.interaction_callbacks() if token in c.path]
    )
    assert callback.json["type"] == MESSAGE_WITH_SOURCE
    assert callback.json["data"]["flags"] == EPHEMERAL
    assert "expected a time like 08:30" in callback.json["data"]["content"]


async def test_a_member_who_refuses_dms_is_told_once_in_the_channel_and_marked(
    fake: FakeDiscord, running: RunningBot
) -> None:
    guild = fake.guild_for_shard(0)
    channel = fake.add_channel(guild_id=guild)
    daily = {
        "name": "drillbot",
        "options": [
            {
                "name": "channel",
                "type": 2,
                "options": [{"name": "daily", "type": 1, "options": []}],
            }
        ],
    }
    token = await slash(
        fake, channel=channel, guild=guild, permissions=VIEW_SEND_REACT | MANAGE_GUILD, data=daily
    )
    await fake.wait_for(lambda: fake.answers_to(token))
    fake.close_dms(BEN)

    for _ in range(2):
        token = await slash(fake, channel=channel, guild=guild, user=BEN)
        await fake.wait_for(lambda token=token: fake.answers_to(token))
        await running.service.outbox.resume_pending()  # what the next tick would send

    notices = [t for t in texts(fake, channel) if "cannot send you direct messages" in t]
    assert len(notices) == 1
    async with transaction(running.service.sessions) as session:
        ben = await session.scalar(select(Member).where(Member.external_id == str(BEN)))
        failed = list(await session.scalars(select(Post).where(Post.status == "failed")))
    assert ben.unreachable_at is not None
    assert failed and all("50007" in (p.last_error or "") for p in failed)


async def test_auto_sharding_connects_every_shard_and_serves_each(
    sharded_fake: FakeDiscord, database_url: str
) -> None:
    fake = sharded_fake
    running = await run_bot(
        fake, database_url=database_url, config={"discord": {"shards": "auto"}}, shards={0, 1}
    )
    try:
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
        guild = fake.guild_for_shard(1)
        channel = fake.add_channel(guild_id=guild)
        token = await slash(fake, channel=channel, guild=guild)  # arrives on shard 1
        await fake.wait_for(lambda: fake.answers_to(token))
        dm = dm_channel_of(fake, ANA)
        card = cards(fake, dm)[0]
        await react(fake, message=card, emoji="🟢")  # DMs arrive on shard 0
        await fake.wait_for(lambda: any("recorded" in t for t in texts(fake, dm)))
    finally:
        await running.stop()


async def test_a_replica_with_some_shards_connects_only_those_and_leaves_sync_to_shard_0(
    sharded_fake: FakeDiscord, database_url: str
) -> None:
    fake = sharded_fake
    running = await run_bot(
        fake,
        database_url=database_url,
        config={"discord": {"shard_ids": [1], "shard_count": 2}},
        shards={1},
    )
    try:
        assert [tuple(i["shard"]) for i in fake.identifies] == [(1, 2)]
        assert fake.of("PUT", r"/applications/\d+/commands") == []
    finally:
        await running.stop()


async def test_a_development_server_gets_the_commands_at_once(
    fake: FakeDiscord, database_url: str
) -> None:
    guild = fake.guild_for_shard(0)
    running = await run_bot(
        fake, database_url=database_url, config={"discord": {"dev_guild_id": guild}}
    )
    try:
        (sync,) = fake.of("PUT", rf"/applications/{APPLICATION_ID}/guilds/{guild}/commands")
        assert "drill" in {command["name"] for command in sync.json}
        assert fake.of("PUT", rf"/applications/{APPLICATION_ID}/commands") == []
    finally:
        await running.stop()


async def test_timezone_options_suggest_zone_names(fake: FakeDiscord, running: RunningBot) -> None:
    guild = fake.guild_for_shard(0)
    channel = fake.add_channel(guild_id=guild)
    token = f"token-{next(_tokens)}"
    focused = {"name": "timezone", "type": 3, "value": "berl", "focused": True}
    await fake.send_fixture(
        "interaction_create_command_guild",
        overrides={
            "type": 4,  # APPLICATION_COMMAND_AUTOCOMPLETE
            "data": {
                "id": str(fake.snowflake()),
                "name": "drillbot",
                "type": 1,
                "options": [{"name": "subscribe", "type": 1, "options": [focused]}],
            },
        },
        interaction_id=fake.snowflake(),
        application_id=APPLICATION_ID,
        command_id=fake.snowflake(),
        guild_id=guild,
        channel_id=channel,
        user_id=ANA,
        member_permissions=VIEW_SEND_REACT,
        app_permissions=0,
        token=token,
    )

    (callback,) = await fake.wait_for(
        lambda: [c for c in fake.interaction_callbacks() if token in c.path]
    )
    assert callback.json["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    assert {"name": "Europe/Berlin", "value": "Europe/Berlin"} in callback.json["data"]["choices"]


async def test_a_refused_token_stops_drillbot_with_a_hint(
    fake: FakeDiscord, database_url: str
) -> None:
    settings = load_settings(env={}, database_url=database_url)
    env = {TOKEN_ENV: "an-old-token", API_URL_ENV: fake.base_url}

    with pytest.raises(DiscordSetupError, match="refused the token"):
        await serve_discord(settings=settings, env=env)
    assert fake.identifies == []


async def test_the_daily_channel_question_is_graded_by_reaction_and_revealed_privately(
    fake: FakeDiscord, running: RunningBot
) -> None:
    guild = fake.guild_for_shard(0)
    channel = fake.add_channel(guild_id=guild)
    a_moment_ago = f"{datetime.now(UTC) - timedelta(minutes=2):%H:%M}"
    daily = {
        "name": "drillbot",
        "options": [
            {
                "name": "channel",
                "type": 2,
                "options": [
                    {
                        "name": "daily",
                        "type": 1,
                        "options": [
                            {"name": "time", "type": 3, "value": a_moment_ago},
                            {"name": "timezone", "type": 3, "value": "UTC"},
                            {"name": "days", "type": 3, "value": "daily"},
                        ],
                    }
                ],
            }
        ],
    }
    token = await slash(
        fake, channel=channel, guild=guild, permissions=VIEW_SEND_REACT | MANAGE_GUILD, data=daily
    )
    await fake.wait_for(lambda: fake.answers_to(token))
    async with transaction(running.service.sessions) as session:  # today's run is due now
        (row,) = await session.scalars(select(Channel))
        row.next_run_at = datetime.now(UTC) - timedelta(minutes=1)
    await Dispatcher(service=running.service).tick()
    (question,) = await fake.wait_for(lambda: cards(fake, channel))
    await fake.wait_for(lambda: len(fake.reactions()) == 3)

    await react(fake, message=question, emoji="🟡", user=BEN, guild=guild)
    dm = await fake.wait_for(lambda: dm_channel_of(fake, BEN))
    await fake.wait_for(lambda: any("Lean Hire recorded" in t for t in texts(fake, dm)))
    token = await press(fake, message=question, custom_id=custom_ids(question)[0], guild=guild)
    (answer,) = await fake.wait_for(lambda: fake.answers_to(token))

    assert answer.json["flags"] & EPHEMERAL and "Answer to card #" in answer_text(answer)
    assert fake.messages[int(question["id"])]["embeds"][0]["title"].startswith("Card #")
    assert texts(fake, channel) == []  # the channel only ever shows the question
    assert [g.grade for g in await grades(running)] == ["lean"]
