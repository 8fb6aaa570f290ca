"""Gateway events of unexpected shape never take drillbot's Discord connection down.

Discord's payloads change over time (new fields, missing ones, a proxy in between), and
discord.py parses each dispatch inside its gateway loop: an exception there would end
the connection and the bot with it. Hypothesis mutates the recorded reaction and
interaction payloads (fields dropped, replaced by arbitrary JSON, ids garbled) and the
real client takes them all from the local fake Discord; afterwards the same member's
ordinary reaction still grades the card.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.discord_fakes import (
    APPLICATION_ID,
    BOT_ID,
    FakeDiscord,
    RunningBot,
    fake_discord_fixture,  # noqa: F401  (a fixture)
    load_fixture,
    running_bot_fixture,  # noqa: F401  (a fixture)
)
from tests.test_discord_gateway import ANA, drill_in_dm, grades, react, texts

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)

FIXTURES = (
    "message_reaction_add_dm",
    "message_reaction_remove_dm",
    "message_reaction_add_guild",
    "interaction_create_button_dm",
    "interaction_create_button_guild",
    "interaction_create_command_dm",
    "interaction_create_command_guild",
)


def recorded(name: str) -> dict[str, Any]:
    """A recorded dispatch (event name and data) with plausible ids filled in."""
    values = dict(
        user_id=ANA,
        channel_id=1300000000000009001,
        message_id=1300000000000009002,
        guild_id=1300000000000009003,
        emoji="🟢",
        bot_id=BOT_ID,
        interaction_id=1300000000000009004,
        application_id=APPLICATION_ID,
        command_id=1300000000000009005,
        app_permissions=0,
        member_permissions=0,
        token="token-fuzz",
        custom_id="card:grade:strong:1",
        message={"id": "1", "channel_id": "2"},
    )
    return load_fixture(name, **values)


@st.composite
def mutated_dispatches(draw) -> tuple[str, dict[str, Any]]:
    frame = recorded(draw(st.sampled_from(FIXTURES)))
    data = dict(frame["d"])
    for key in draw(st.lists(st.sampled_from(sorted(data)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del data[key]
        else:
            data[key] = draw(JSON)
    return frame["t"], data


def drawn(strategy: st.SearchStrategy, count: int) -> list[Any]:
    """`count` reproducible examples of a strategy, to send through one running bot."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


async def test_malformed_gateway_events_leave_the_connection_serving(
    fake: FakeDiscord, running: RunningBot
) -> None:
    card = await drill_in_dm(fake)
    dm = int(card["channel_id"])
    identified = len(fake.identifies)

    for event, data in drawn(mutated_dispatches(), 150):
        await fake.dispatch(event, data)

    await react(fake, message=card, emoji="🔴")
    await fake.wait_for(lambda: any("No Hire recorded" in t for t in texts(fake, dm)))
    assert [g.grade for g in await grades(running)] == ["no"]
    assert len(fake.identifies) == identified  # the same session throughout
    assert not running.task.done()
