"""Slack payloads -> core events, over the recorded payloads in tests/fixtures/slack.

Pure: no server, no client, no database. The same fixtures go through the running app in
test_slack_app.py and test_slack_e2e.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.render import SLASH_COMMAND, slack_commands, slack_usage
from adapters.slack.translate import (
    MalformedPayload,
    Profile,
    SlackContext,
    malformed_reason,
    parse_command_text,
    profile_from_user,
    slack_vocabulary,
    translate,
    with_profile,
)
from bot.commands import CORE_COMMANDS, ChoiceType, DateType, IntType, UsageError
from bot.config import Settings
from bot.domain.grades import Grade
from bot.events import ButtonPressed, CommandInvoked, ReactionAdded, ReactionRemoved
from tests.slack_fakes import ANA, BOT_USER, STUDY_CHANNEL, TEAM, load_fixture

CONTEXT = SlackContext(vocabulary=slack_vocabulary(Settings()), bot_user_id=BOT_USER)


def event(fixture: str, **changes: Any) -> dict[str, Any]:
    envelope = load_fixture(fixture)
    envelope["event"].update(changes)
    return envelope


# ---- /drill and its subcommands ----------------------------------------------------------


def test_the_recorded_slash_command_is_a_drill_in_the_dm() -> None:
    body = load_fixture("slash_command")
    result = translate(body, context=CONTEXT)
    assert isinstance(result, CommandInvoked)
    assert result.command == "drill" and result.args["count"] == 2
    assert result.event_id == f"command:{body['trigger_id']}"
    assert result.actor.platform == "slack"
    assert (result.actor.team_ref, result.actor.user_ref) == (TEAM, ANA)
    assert result.conversation.is_dm and result.conversation.channel_ref == body["channel_id"]
    assert result.conversation.reply_token == body["response_url"]
    assert not result.actor.is_admin


def test_a_slash_command_in_a_channel_is_not_a_dm_and_config_admins_are_admins() -> None:
    body = {**load_fixture("slash_command"), "channel_id": STUDY_CHANNEL, "channel_name": "study"}
    context = SlackContext(vocabulary=CONTEXT.vocabulary, admin_user_ids={ANA})
    result = translate(body, context=context)
    assert isinstance(result, CommandInvoked)
    assert not result.conversation.is_dm and result.actor.is_admin


@pytest.mark.parametrize(
    ("text", "command", "args"),
    [
        ("", "drill", {"count": 3}),
        ("5 track=llm", "drill", {"count": 5, "track": "llm"}),
        ("level=staff", "drill", {"level": "staff"}),
        ("drill 2", "drill", {"count": 2}),
        ("quickfire 10", "quickfire", {"n": 10}),
        ("/quickfire 10 llm", "quickfire", {"n": 10, "track": "llm"}),
        ("mock", "mock", {}),
        ("mock status", "mock status", {}),
        ("reveal 12", "reveal", {"card": 12}),
        ("grade 12 lean", "grade", {"card": 12, "grade": "lean"}),
        ("leaderboard", "leaderboard", {"week": "this"}),
        ("leaderboard last", "leaderboard", {"week": "last"}),
        ("leaderboard off", "drillbot leaderboard", {"visible": "off"}),
        ("subscribe 07:45 Europe/Berlin weekdays", "drillbot subscribe", {"days": (0, 1, 2, 3, 4)}),
        ("drillbot subscribe 07:45", "drillbot subscribe", {}),
        ("/drillbot pause until 2026-12-01", "drillbot pause", {}),
        ("settings", "drillbot settings", {}),
        ("forget-me confirm", "drillbot forget-me", {"confirm": "confirm"}),
        ("channel daily 09:00 UTC mon-fri", "drillbot channel daily", {"timezone": "UTC"}),
        ("channel off", "drillbot channel off", {}),
        ("HELP", "help", {}),
    ],
)
def test_subcommands_map_onto_the_core_commands(
    text: str, command: str, args: dict[str, Any]
) -> None:
    parsed, values = parse_command_text(text)
    assert parsed.name == command
    assert args.items() <= values.items()


def _sample(param) -> str:
    if isinstance(param.type, IntType):
        return str(param.type.minimum)
    if isinstance(param.type, ChoiceType):
        return param.type.choices[0]
    if isinstance(param.type, DateType):
        return "2027-03-01"
    raise AssertionError(f"no sample for required {param.name}")


@pytest.mark.parametrize("command", list(CORE_COMMANDS), ids=lambda c: c.name)
def test_every_core_command_is_reachable_the_way_slack_help_writes_it(command) -> None:
    """`/drill help` shows each usage rewritten for Slack; typing it gets that command."""
    usage = slack_usage(command.path)
    assert usage == slack_commands(command.usage())  # help text and parser agree
    words = [w for w in usage.split() if not w.startswith(("[", "<"))]
    required = [_sample(p) for p in command.params if p.required]
    parsed, _ = parse_command_text(" ".join([*words, *required]))
    if parsed is not command and not required and command.params:
        # The bare words are another command's (`/drill leaderboard` shows the board);
        # with its first argument they are this one's (`/drill leaderboard off`).
        parsed, _ = parse_command_text(" ".join([*words, _sample(command.params[0])]))
    assert parsed is command
    for example in command.examples:
        parsed, _ = parse_command_text(slack_commands(example))
        assert parsed is command


def test_an_unknown_subcommand_names_the_ones_there_are() -> None:
    with pytest.raises(UsageError) as error:
        parse_command_text("fly me")
    message = str(error.value)
    assert f"unknown {SLASH_COMMAND} subcommand 'fly'" in message
    for name in ("quickfire", "mock", "stats", "subscribe", "channel"):
        assert name in message
    assert "drillbot" not in message.split(":", 1)[1]


def test_bad_arguments_get_the_usage_line() -> None:
    with pytest.raises(UsageError) as error:
        parse_command_text("quickfire lots")
    assert "Usage: /quickfire [n] [track]" in str(error.value)  # rewritten when shown
    with pytest.raises(UsageError):
        parse_command_text("subscribe 25:00")


def test_other_slash_commands_and_unknown_payloads_are_not_ours() -> None:
    assert (
        translate({**load_fixture("slash_command"), "command": "/remind"}, context=CONTEXT) is None
    )
    assert translate(load_fixture("url_verification"), context=CONTEXT) is None
    assert translate({"type": "view_submission"}, context=CONTEXT) is None


# ---- reactions ---------------------------------------------------------------------------


def test_the_recorded_reactions_grade_and_ungrade() -> None:
    added = translate(load_fixture("event_reaction_added"), context=CONTEXT)
    assert isinstance(added, ReactionAdded)
    assert added.grade is Grade.STRONG and added.event_id == "Ev07QJ4K8N2B"
    assert added.message_ref == "1764000001.000001"
    assert added.conversation.channel_ref == "D0ANA00001" and added.conversation.is_dm
    removed = translate(load_fixture("event_reaction_removed"), context=CONTEXT)
    assert isinstance(removed, ReactionRemoved) and removed.grade is Grade.STRONG


@pytest.mark.parametrize(
    ("reaction", "grade"),
    [
        ("large_green_circle", Grade.STRONG),
        ("large_yellow_circle", Grade.LEAN),
        ("red_circle", Grade.NO),
        ("large_red_circle", Grade.NO),
        ("thumbsup", None),
        ("white_check_mark", None),
    ],
)
def test_emoji_names_map_to_grades(reaction: str, grade: Grade | None) -> None:
    result = translate(event("event_reaction_added", reaction=reaction), context=CONTEXT)
    assert (result.grade if result else None) is grade


def test_a_team_can_choose_its_own_grade_emoji() -> None:
    settings = Settings.model_validate(
        {"slack": {"grade_emoji": {"strong": "white_check_mark", "lean": "ok", "no": "x"}}}
    )
    context = SlackContext(vocabulary=slack_vocabulary(settings))
    for name, grade in (("white_check_mark", Grade.STRONG), ("ok", Grade.LEAN), ("x", Grade.NO)):
        result = translate(event("event_reaction_added", reaction=name), context=context)
        assert isinstance(result, ReactionAdded) and result.grade is grade
    settings = Settings.model_validate({"grades": {"strong": ["+1"]}})
    context = SlackContext(vocabulary=slack_vocabulary(settings))
    toned = translate(event("event_reaction_added", reaction="+1::skin-tone-3"), context=context)
    assert isinstance(toned, ReactionAdded) and toned.grade is Grade.STRONG


def test_the_bots_own_reactions_and_reactions_on_files_are_ignored() -> None:
    assert translate(event("event_reaction_added", user=BOT_USER), context=CONTEXT) is None
    on_file = event("event_reaction_added", item={"type": "file", "file": "F1"})
    assert translate(on_file, context=CONTEXT) is None


def test_a_reaction_in_a_channel_is_not_a_dm() -> None:
    envelope = event(
        "event_reaction_added",
        item={"type": "message", "channel": STUDY_CHANNEL, "ts": "1764000009.000009"},
    )
    result = translate(envelope, context=CONTEXT)
    assert isinstance(result, ReactionAdded) and not result.conversation.is_dm


# ---- DMs and mentions ----------------------------------------------------------------------


def test_the_recorded_dm_is_a_command() -> None:
    result = translate(load_fixture("event_message_im"), context=CONTEXT)
    assert isinstance(result, CommandInvoked)
    assert result.command == "quickfire" and result.args["n"] == 2
    assert result.conversation.is_dm and result.event_id == "Ev07QJ5A1D4E"


@pytest.mark.parametrize(
    "changes",
    [
        {"user": BOT_USER},
        {"bot_id": "B0DRILLBOT"},
        {"subtype": "message_changed"},
        {"thread_ts": "1764000001.000001"},  # an answer written in a card's thread
        {"text": "   "},
        {"channel_type": "channel", "channel": STUDY_CHANNEL},
    ],
)
def test_dm_messages_that_are_not_commands_are_left_alone(changes: dict[str, Any]) -> None:
    assert translate(event("event_message_im", **changes), context=CONTEXT) is None


def test_a_dm_that_does_not_parse_raises_a_usage_hint() -> None:
    with pytest.raises(UsageError):
        translate(event("event_message_im", text="hello there"), context=CONTEXT)


def test_the_recorded_mention_is_a_command_in_the_channel() -> None:
    result = translate(load_fixture("event_app_mention"), context=CONTEXT)
    assert isinstance(result, CommandInvoked) and result.command == "stats"
    assert result.conversation.channel_ref == STUDY_CHANNEL and not result.conversation.is_dm
    in_thread = translate(
        event("event_app_mention", thread_ts="1764000290.000100"), context=CONTEXT
    )
    assert in_thread.conversation.thread_ref == "1764000290.000100"
    bare = translate(event("event_app_mention", text="<@U0DRILLBOT|drillbot>"), context=CONTEXT)
    assert bare.command == "help"
    in_dm = event("event_app_mention", channel="D0ANA00001")
    assert translate(in_dm, context=CONTEXT) is None  # the DM message carries it


# ---- buttons -----------------------------------------------------------------------------


def test_the_recorded_button_press_reveals_the_card_it_carries() -> None:
    body = load_fixture("block_actions")
    result = translate(body, context=CONTEXT)
    assert isinstance(result, ButtonPressed)
    assert (result.action, result.post_id, result.grade) == ("reveal", 1, None)
    assert result.message_ref == body["container"]["message_ts"]
    assert result.conversation.is_dm and result.conversation.reply_token == body["response_url"]
    assert result.event_id == f"action:{body['trigger_id']}"


@pytest.mark.parametrize("grade", list(Grade))
def test_grade_buttons(grade: Grade) -> None:
    body = load_fixture("block_actions")
    body["actions"][0]["action_id"] = f"drillbot:{grade.value}:77"
    result = translate(body, context=CONTEXT)
    assert (result.action, result.post_id, result.grade) == ("grade", 77, grade)


def test_other_buttons_are_not_ours() -> None:
    body = load_fixture("block_actions")
    body["actions"][0]["action_id"] = "drillbot:explode:1"
    assert translate(body, context=CONTEXT) is None


# ---- malformed bodies and member profiles ------------------------------------------------


def test_malformed_bodies() -> None:
    assert malformed_reason([1, 2]) == "not an object"
    assert malformed_reason({}) == "no type"
    assert malformed_reason({"type": "event_callback"}) == "event_callback without event"
    assert malformed_reason({"type": "event_callback", "event": []}) == "event is not an object"
    assert malformed_reason({"type": "block_actions"}) == "block_actions without actions"
    actions = {"type": "block_actions", "actions": ["x", 1, None]}
    assert malformed_reason(actions) == "actions is not a list of objects"
    listed = {"type": "block_actions", "actions": [], "user": ["U1"]}
    assert malformed_reason(listed) == "user is neither an id nor an object"
    assert malformed_reason({"type": "x", "event": None}) == "event is not an object"
    no_id = {"type": "block_actions", "actions": [{}]}
    assert malformed_reason(no_id) == "block_actions with an action without an action_id"
    assert malformed_reason({"type": "url_verification"}) == "url_verification without a challenge"
    assert malformed_reason({"command": "/drill"}) is not None
    for name in ("slash_command", "event_message_im", "block_actions", "url_verification"):
        assert malformed_reason(load_fixture(name)) is None
    broken = event("event_reaction_added")
    del broken["event"]["item"]
    with pytest.raises(MalformedPayload):
        translate(broken, context=CONTEXT)
    with pytest.raises(MalformedPayload):
        translate({**load_fixture("block_actions"), "user": None}, context=CONTEXT)


def test_users_info_gives_name_timezone_and_admin() -> None:
    user = {
        "id": ANA,
        "name": "ana",
        "real_name": "Ana Real",
        "tz": "Europe/Berlin",
        "profile": {"display_name": "", "real_name": "Ana Real"},
        "is_admin": False,
        "is_owner": True,
    }
    assert profile_from_user(user) == Profile(
        display_name="Ana Real", timezone="Europe/Berlin", is_admin=True
    )
    odd = profile_from_user({"name": "ben", "tz": "Mars/Olympus_Mons"})
    assert odd == Profile(display_name="ben", timezone=None, is_admin=False)

    command = translate(load_fixture("slash_command"), context=CONTEXT)
    enriched = with_profile(command, Profile(display_name="Ana", timezone="Asia/Tokyo"))
    assert enriched.actor.timezone == "Asia/Tokyo" and enriched.actor.display_name == "Ana"
    assert with_profile(command, None) is command


def test_a_long_unknown_subcommand_is_not_echoed_back_whole() -> None:
    with pytest.raises(UsageError) as error:
        parse_command_text("z" * 3000)
    assert "z" * 40 + "…" in str(error.value) and len(str(error.value)) < 400
