"""A review digest on every platform: one message, yet each review is revealed and graded
on its own, by its own post id, through the buttons and commands cards already use."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.console.port import ConsolePort
from adapters.console.render import render as console_render
from adapters.console.translate import translate as console_translate
from adapters.discord.app import gateway_intents
from adapters.discord.port import DiscordPort
from adapters.discord.runner import discord_endpoints
from adapters.discord.translate import button_event, parse_card_button
from adapters.fake import FakeChatPort
from adapters.slack.render import render as slack_render
from adapters.slack.translate import SlackContext, slack_vocabulary
from adapters.slack.translate import translate as slack_translate
from bot.commands import CORE_COMMANDS
from bot.config import Settings
from bot.domain.grades import Grade, GradeVocabulary
from bot.events import Actor, ButtonPressed, CommandInvoked, Conversation
from bot.messages import ReviewDigest, Text
from tests import slack_fakes
from tests.cards import digest_of, review
from tests.discord_fakes import (
    APPLICATION_ID,
    FakeDiscord,
    fake_discord_fixture,  # noqa: F401  (a fixture)
    load_fixture,
)

USER = 1300000000000000700


DIGEST = digest_of(5)


# ---- console -----------------------------------------------------------------------------


def test_the_console_shows_every_review_with_a_grade_command_of_its_own() -> None:
    shown = console_render(DIGEST)

    assert shown.splitlines()[0] == "Reviews due · 5"
    assert shown.count("Q: Why does attention scale") == 5
    for item in DIGEST.items:
        assert f"card #{item.post_id} · review {item.post_id - 100}/5" in shown
        assert f"llm · screening · 2 min · llm-q{item.post_id}" in shown
        hint = f"reveal: /reveal {item.post_id}   grade: /grade {item.post_id} strong|lean|no"
        assert hint in shown
    assert "react" not in shown  # one reaction on the digest could not tell reviews apart
    assert console_render(ReviewDigest(items=DIGEST.items, heading="Today")).startswith("Today\n")


def test_the_grade_hint_is_a_command_the_console_understands() -> None:
    event = console_translate(
        "/grade 103 strong",
        catalog=CORE_COMMANDS,
        vocabulary=GradeVocabulary(),
        actor=Actor(platform="console", team_ref="local", user_ref="me"),
        conversation=Conversation(channel_ref="dm-me", is_dm=True),
        event_id="e1",
    )
    assert isinstance(event, CommandInvoked) and event.command == "grade"
    assert event.args == {"card": 103, "grade": "strong"}


async def test_the_console_records_a_digest_as_its_first_review(tmp_path: Path) -> None:
    out = io.StringIO()
    port = ConsolePort(out=out, channel="study", charts_dir=tmp_path)

    sent = await port.send_dm(user_ref="me", message=DIGEST)
    other = await port.send_dm(user_ref="me", message=Text(text="hello"))

    assert sent.message_ref == "101" and other.message_ref != "101"
    assert out.getvalue().startswith("[DM] Reviews due · 5\n")
    assert "/grade 105 strong|lean|no" in out.getvalue()


# ---- the recording port ------------------------------------------------------------------


async def test_the_fake_port_counts_a_digests_reviews_as_cards_received() -> None:
    port = FakeChatPort()
    card = review(100)
    await port.send_dm(user_ref="ana", message=card)
    await port.send_dm(user_ref="ana", message=DIGEST)
    await port.send_dm(user_ref="ana", message=Text(text="done"))

    assert port.cards() == [card, *DIGEST.items]
    assert port.digests() == [DIGEST]
    digest_delivery = port.deliveries[1]
    assert port.delivery_of_card(100) == port.deliveries[0]
    assert all(port.delivery_of_card(item.post_id) == digest_delivery for item in DIGEST.items)
    with pytest.raises(LookupError):
        port.delivery_of_card(999)


# ---- Slack: a press on a digest's button -------------------------------------------------


def test_pressing_a_slack_digest_button_grades_that_review() -> None:
    payload = slack_render(DIGEST)
    actions = [block for block in payload["blocks"] if block["type"] == "actions"]
    third = actions[2]
    strong = next(b for b in third["elements"] if b["action_id"] == "drillbot:strong:103")
    body = slack_fakes.load_fixture("block_actions")
    body["message"].update(text=payload["text"], blocks=payload["blocks"])
    # What Slack sends for a pressed button: the element, its block and when.
    body["actions"] = [{**strong, "block_id": third["block_id"], "action_ts": "1764000130.1"}]

    event = slack_translate(
        body, context=SlackContext(vocabulary=slack_vocabulary(Settings()), bot_user_id="U0BOT")
    )

    assert isinstance(event, ButtonPressed)
    assert (event.post_id, event.action, event.grade) == (103, "grade", Grade.STRONG)
    assert event.message_ref == body["container"]["message_ts"]  # the digest's message


# ---- Discord: the digest as sent, and a press on one of its buttons ----------------------


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    with discord_endpoints(api_url=fake.base_url, gateway_url=None):
        client = discord.Client(intents=gateway_intents(), max_ratelimit_timeout=30.0)
        async with client:
            await client.login("fake-bot-token")
            yield client


def custom_ids(message: dict[str, Any]) -> list[list[str]]:
    return [[button["custom_id"] for button in row["components"]] for row in message["components"]]


async def test_a_discord_digest_goes_out_once_with_a_row_per_review(
    fake: FakeDiscord, client: discord.Client
) -> None:
    port = DiscordPort(client=client)

    sent = await port.send_dm(user_ref=str(USER), message=DIGEST)
    again = await port.send_dm(user_ref=str(USER), message=DIGEST)  # a retry after a crash

    assert again == sent
    (message,) = fake.created(int(sent.channel_ref))
    assert custom_ids(message) == [
        [f"drillbot:card:{action}:{item.post_id}" for action in ("reveal", "strong", "lean", "no")]
        for item in DIGEST.items
    ]
    nonces = [c.json["nonce"] for c in fake.of("POST", rf"/channels/{sent.channel_ref}/messages")]
    assert nonces == ["rev-101", "rev-101"]
    await port.send_dm(user_ref=str(USER), message=review(101))  # not taken for the digest
    assert len(fake.created(int(sent.channel_ref))) == 2


async def test_pressing_a_discord_digest_button_grades_that_review(
    fake: FakeDiscord, client: discord.Client
) -> None:
    port = DiscordPort(client=client)
    sent = await port.send_dm(user_ref=str(USER), message=DIGEST)
    (message,) = fake.created(int(sent.channel_ref))
    pressed = custom_ids(message)[2][1]
    data = load_fixture(
        "interaction_create_button_dm",
        interaction_id=fake.snowflake(),
        application_id=APPLICATION_ID,
        channel_id=int(sent.channel_ref),
        user_id=USER,
        app_permissions=0,
        token="token-1",
        custom_id=pressed,
        message=message,
    )["d"]
    interaction = discord.Interaction(data=data, state=client._connection)

    parsed = parse_card_button(interaction.data["custom_id"])
    assert parsed == ("strong", 103)
    action, post_id = parsed
    event = button_event(
        interaction, action=action, post_id=post_id, team_ref="app", admin_user_ids=()
    )

    assert (event.post_id, event.action, event.grade) == (103, "grade", Grade.STRONG)
    assert event.message_ref == sent.message_ref and event.conversation.is_dm
