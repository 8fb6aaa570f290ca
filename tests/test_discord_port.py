"""The Discord port against a local fake REST API: what lands on Discord, how often, and
what the core hears back when Discord says no."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlparse

import discord
import pytest

from adapters.discord import invite
from adapters.discord.app import gateway_intents
from adapters.discord.port import DiscordPort
from adapters.discord.runner import discord_endpoints
from adapters.discord.translate import command_event
from bot.domain.grades import Grade
from bot.events import Conversation
from bot.messages import AnswerReveal, Image, QuestionCard, QuestionFace, Text
from bot.ports import PlatformError
from tests.discord_fakes import (
    APPLICATION_ID,
    THREAD_CHANNEL,
    FakeDiscord,
    fake_discord_fixture,  # noqa: F401  (a fixture)
    load_fixture,
)

USER = 1300000000000000700
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def card(post_id: int = 7) -> QuestionCard:
    return QuestionCard(
        post_id=post_id,
        question=QuestionFace(
            question_id="t-backprop",
            track="deep-learning",
            level="screening",
            time_limit_s=120,
            prompt="What does backpropagation compute, and how?",
        ),
        heading="Drill 1/1 · new",
    )


REVEAL = AnswerReveal(
    post_id=7,
    question_id="t-backprop",
    prompt="What does backpropagation compute, and how?",
    answer="Gradients of the loss with respect to every weight, by the chain rule.",
    rubric={Grade.STRONG: "Chain rule and cost", Grade.LEAN: "Chain rule", Grade.NO: "Neither"},
)


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    with discord_endpoints(api_url=fake.base_url, gateway_url=None):
        client = discord.Client(intents=gateway_intents(), max_ratelimit_timeout=30.0)
        async with client:
            await client.login("fake-bot-token")
            yield client


@pytest.fixture
def port(client: discord.Client) -> DiscordPort:
    return DiscordPort(client=client)


def text_channel(fake: FakeDiscord) -> int:
    return fake.add_channel(guild_id=fake.guild_for_shard(0))


async def test_a_dm_channel_is_opened_once_then_cached(fake: FakeDiscord, port: DiscordPort):
    sent = await asyncio.gather(
        *(port.send_dm(user_ref=str(USER), message=card(n)) for n in range(1, 5))
    )
    await port.send_dm(user_ref=str(USER), message=Text(text="and one more"))

    assert len(fake.of("POST", r"/users/@me/channels")) == 1
    assert len({s.channel_ref for s in sent}) == 1
    assert len(fake.created(int(sent[0].channel_ref))) == 5


async def test_sends_carry_a_nonce_so_a_card_sent_again_is_not_posted_twice(
    fake: FakeDiscord, port: DiscordPort
):
    channel = text_channel(fake)

    first = await port.post(channel_ref=str(channel), message=card())
    again = await port.post(channel_ref=str(channel), message=card())  # e.g. after a crash

    assert first == again
    assert len(fake.created(channel)) == 1
    posts = fake.of("POST", rf"/channels/{channel}/messages")
    assert [(c.json["nonce"], c.json["enforce_nonce"]) for c in posts] == [("card-7", True)] * 2
    texts = [
        await port.post(channel_ref=str(channel), message=Text(text="same words")) for _ in range(2)
    ]
    assert texts[0] != texts[1]  # two texts are two messages, each with its own nonce


async def test_a_short_rate_limit_is_waited_out_and_the_retry_reuses_the_nonce(
    fake: FakeDiscord, port: DiscordPort
):
    channel = text_channel(fake)
    fake.rate_limit_next("POST", rf"/channels/{channel}/messages", retry_after=0.05)

    await port.post(channel_ref=str(channel), message=card())

    posts = fake.of("POST", rf"/channels/{channel}/messages")
    assert [c.status for c in posts] == [429, 200]
    assert posts[0].json["nonce"] == posts[1].json["nonce"]
    assert len(fake.created(channel)) == 1


async def test_a_long_rate_limit_goes_back_to_the_outbox_as_retry_after(
    fake: FakeDiscord, port: DiscordPort
):
    channel = text_channel(fake)
    fake.rate_limit_next("POST", rf"/channels/{channel}/messages", retry_after=120)

    with pytest.raises(PlatformError) as caught:
        await port.post(channel_ref=str(channel), message=card())

    assert caught.value.retry_after == 120 and not caught.value.permanent
    assert fake.created(channel) == []


async def test_a_member_who_refuses_dms_is_reported_as_dm_closed(
    fake: FakeDiscord, port: DiscordPort
):
    fake.close_dms(USER)

    with pytest.raises(PlatformError) as caught:
        await port.send_dm(user_ref=str(USER), message=card())

    assert caught.value.code == "dm_closed" and caught.value.permanent
    assert "50007" in str(caught.value)


@pytest.mark.parametrize("how", ["access removed", "channel deleted"])
async def test_a_channel_the_bot_cannot_post_in_is_reported_gone(
    fake: FakeDiscord, port: DiscordPort, how: str
):
    channel = text_channel(fake)
    if how == "access removed":
        fake.remove_channel(channel)
    else:
        del fake.channels[channel]

    with pytest.raises(PlatformError) as caught:
        await port.post(channel_ref=str(channel), message=card())

    assert caught.value.code == "channel_gone" and caught.value.permanent


async def test_other_client_errors_are_permanent_and_name_the_code(
    fake: FakeDiscord, port: DiscordPort
):
    channel = text_channel(fake)
    fake.fail_next(
        "POST",
        rf"/channels/{channel}/messages",
        status=400,
        body={"message": "Invalid Form Body", "code": 50035},
    )

    with pytest.raises(PlatformError) as caught:
        await port.post(channel_ref=str(channel), message=card())

    assert caught.value.permanent and caught.value.code == ""
    assert "50035" in str(caught.value)


async def test_grade_hints_edits_and_charts(fake: FakeDiscord, port: DiscordPort):
    channel = text_channel(fake)
    sent = await port.post(channel_ref=str(channel), message=card())

    await port.add_reactions(
        channel_ref=sent.channel_ref, message_ref=sent.message_ref, grades=list(Grade)
    )
    await port.update(channel_ref=sent.channel_ref, message_ref=sent.message_ref, message=REVEAL)
    chart = await port.upload_image(
        channel_ref=str(channel),
        image=Image(png=PNG, filename="board.png", title="This week"),
        thread_ref=sent.message_ref,
    )

    assert [e for _, _, e in fake.reactions()] == ["🟢", "🟡", "🔴"]
    edited = fake.messages[int(sent.message_ref)]
    assert edited["embeds"][0]["title"].startswith("Answer to card #7")
    assert [b["custom_id"] for row in edited["components"] for b in row["components"]] == [
        "drillbot:card:strong:7",
        "drillbot:card:lean:7",
        "drillbot:card:no:7",
    ]
    upload = fake.messages[int(chart.message_ref)]
    assert upload["attachments"][0]["filename"] == "board.png"
    assert str(upload["message_reference"]["message_id"]) == sent.message_ref
    (call,) = [c for c in fake.of("POST", rf"/channels/{channel}/messages") if c.files]
    assert call.files == [("board.png", PNG)]


async def test_a_private_answer_without_an_interaction_goes_by_dm(
    fake: FakeDiscord, port: DiscordPort
):
    channel = text_channel(fake)
    in_channel = Conversation(channel_ref=str(channel), is_dm=False)

    sent = await port.reply(
        conversation=in_channel, user_ref=str(USER), message=Text(text="yours"), ephemeral=True
    )

    assert fake.created(channel) == []
    assert fake.messages[int(sent.message_ref)]["content"] == "yours"
    assert fake.channels[int(sent.channel_ref)].get("recipient") == USER


def interaction(
    client: discord.Client,
    fake: FakeDiscord,
    *,
    token: str,
    in_guild: bool = True,
    permissions: int = 0,
) -> discord.Interaction:
    """An interaction as discord.py builds it from the recorded gateway payload."""
    values = dict(
        interaction_id=fake.snowflake(),
        application_id=APPLICATION_ID,
        command_id=fake.snowflake(),
        user_id=USER,
        app_permissions=0,
        token=token,
    )
    if in_guild:
        guild = fake.guild_for_shard(0)
        data = load_fixture(
            "interaction_create_command_guild",
            guild_id=guild,
            channel_id=fake.add_channel(guild_id=guild),
            member_permissions=permissions,
            **values,
        )["d"]
    else:
        data = load_fixture("interaction_create_command_dm", channel_id=fake.snowflake(), **values)[
            "d"
        ]
    return discord.Interaction(data=data, state=client._connection)


@pytest.mark.parametrize(
    ("in_guild", "permissions", "listed", "admin"),
    [
        (True, 1 << 5, (), True),  # Manage Server
        (True, 1 << 3, (), True),  # Administrator
        (True, (1 << 10) | (1 << 11), (), False),
        (False, 0, (), False),
        (False, 0, (USER,), True),  # admin_user_ids count everywhere
    ],
)
async def test_who_counts_as_an_admin(
    fake: FakeDiscord,
    client: discord.Client,
    in_guild: bool,
    permissions: int,
    listed: tuple,
    admin: bool,
) -> None:
    asked = interaction(client, fake, token="tok", in_guild=in_guild, permissions=permissions)

    event = command_event(
        asked, command="drill", args={"count": 2}, team_ref="app", admin_user_ids=listed
    )

    assert event.actor.is_admin is admin
    assert event.actor.display_name == "Ana" and event.actor.user_ref == str(USER)
    assert event.conversation.is_dm is not in_guild
    assert event.conversation.reply_token == "tok"
    assert event.event_id == f"interaction:{asked.id}"


async def test_replies_fill_the_deferred_answer_then_follow_up_privately(
    fake: FakeDiscord, client: discord.Client, port: DiscordPort
):
    asked = interaction(client, fake, token="tok-a")
    await asked.response.defer(ephemeral=True, thinking=True)
    port.open_interaction(asked, fills_original=True)
    where = Conversation(channel_ref=str(asked.channel_id), is_dm=False, reply_token="tok-a")

    await port.reply(
        conversation=where, user_ref=str(USER), message=Text(text="one"), ephemeral=True
    )
    await port.reply(
        conversation=where, user_ref=str(USER), message=Text(text="two"), ephemeral=True
    )
    await port.close_interaction(asked)

    edit, follow = fake.answers_to("tok-a")
    assert edit.method == "PATCH" and edit.json["content"] == "one"
    assert follow.method == "POST" and follow.json["content"] == "two"
    assert follow.json["flags"] & 64
    assert fake.original_deletes() == []


async def test_a_deferred_answer_nobody_filled_is_cleared(
    fake: FakeDiscord, client: discord.Client, port: DiscordPort
):
    asked = interaction(client, fake, token="tok-b")
    await asked.response.defer(ephemeral=True, thinking=True)
    port.open_interaction(asked, fills_original=True)

    await port.close_interaction(asked)

    assert [c.path for c in fake.original_deletes()] == [
        f"/webhooks/{APPLICATION_ID}/tok-b/messages/@original"
    ]


async def test_the_invite_asks_for_exactly_the_permissions_the_calls_need(
    fake: FakeDiscord, port: DiscordPort
):
    guild = fake.guild_for_shard(0)
    channel = fake.add_channel(guild_id=guild)
    thread = fake.add_channel(guild_id=guild, kind=THREAD_CHANNEL)
    # Everything the port does on a server: cards, texts, hints, edits, charts, threads.
    sent = await port.post(channel_ref=str(channel), message=card())
    await port.post(channel_ref=str(thread), message=Text(text="in a thread"))
    await port.add_reactions(
        channel_ref=sent.channel_ref, message_ref=sent.message_ref, grades=list(Grade)
    )
    await port.update(channel_ref=sent.channel_ref, message_ref=sent.message_ref, message=REVEAL)
    await port.upload_image(
        channel_ref=str(channel),
        image=Image(png=PNG, filename="board.png"),
        thread_ref=sent.message_ref,
    )
    await port.send_dm(user_ref=str(USER), message=card(8))

    asked = {
        "VIEW_CHANNEL" if name == "read_messages" else name.upper()
        for name, granted in invite.permissions()
        if granted
    }
    assert asked == fake.permissions_needed

    url = urlparse(invite.invite_url(application_id=APPLICATION_ID))
    query = parse_qs(url.query)
    assert url.netloc == "discord.com" and url.path == "/oauth2/authorize"
    assert query["client_id"] == [str(APPLICATION_ID)]
    assert query["scope"] == ["bot applications.commands"]
    assert query["permissions"] == [str(invite.permissions().value)]
