"""The Discord command tree is derived from the core's catalog, and the CLI's Discord parts."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import discord
import pytest
from discord import app_commands

from adapters.discord import invite
from adapters.discord.app import (
    ADMIN_PERMISSIONS,
    COMMAND_EXTRA,
    DiscordBot,
    build_commands,
    discord_paths,
    walk_commands,
)
from adapters.discord.runner import API_URL_ENV, GATEWAY_URL_ENV, TOKEN_ENV
from bot.commands import CORE_COMMANDS, ChoiceType, Command, CommandCatalog, IntType, Param
from bot.config import load_settings
from tests.cli import start_drillbot as drillbot
from tests.discord_fakes import (
    APPLICATION_ID,
    FakeDiscord,
    fake_discord_fixture,  # noqa: F401  (a fixture)
)

ROOT = Path(__file__).parents[1]


async def noop(*_args) -> None:
    return None


@pytest.fixture
async def bot() -> DiscordBot:
    return DiscordBot(settings=load_settings(env={}))


async def test_the_tree_offers_every_core_command_exactly_once(bot: DiscordBot) -> None:
    offered = sorted(core for _, core in walk_commands(bot.tree))
    assert offered == sorted(command.name for command in CORE_COMMANDS)

    names = dict(walk_commands(bot.tree))
    assert names["drill"] == "drill"
    assert names["drillbot subscribe"] == "drillbot subscribe"
    assert names["drillbot channel daily"] == "drillbot channel daily"
    if CORE_COMMANDS.get("mock status") is not None:
        assert names["mock-status"] == "mock status"  # /mock itself must stay invocable


async def test_options_follow_each_command_declaration(bot: DiscordBot) -> None:
    by_core = {}
    stack = list(bot.tree.get_commands())
    while stack:
        item = stack.pop()
        if isinstance(item, app_commands.Group):
            stack.extend(item.commands)
        else:
            by_core[item.extras[COMMAND_EXTRA]] = item
    for command in CORE_COMMANDS:
        slash = by_core[command.name]
        options = {p.name: p for p in slash.parameters}
        assert list(options) == [
            p.name for p in sorted(command.params, key=lambda p: not p.required)
        ]
        for param in command.params:
            option = options[param.name]
            assert option.required == param.required
            assert option.description
            if isinstance(param.type, IntType):
                assert option.type is discord.AppCommandOptionType.integer
                assert option.min_value == param.type.minimum
            elif isinstance(param.type, ChoiceType):
                assert [c.value for c in option.choices] == list(param.type.choices)
            else:
                assert option.type is discord.AppCommandOptionType.string


async def test_only_all_admin_commands_default_to_manage_server(bot: DiscordBot) -> None:
    for item in bot.tree.get_commands():
        assert item.default_permissions is None  # /drillbot holds member commands too

    catalog = CommandCatalog(
        [
            Command(("drill",), "Drill."),
            Command(("purge",), "Purge.", admin_only=True),
            Command(("admin", "reset"), "Reset.", admin_only=True),
            Command(("admin", "channel", "off"), "Off.", admin_only=True),
        ]
    )
    built = {c.name: c for c in build_commands(catalog, on_command=noop)}
    assert built["drill"].default_permissions is None
    assert built["purge"].default_permissions == ADMIN_PERMISSIONS
    assert built["admin"].default_permissions == ADMIN_PERMISSIONS


def test_a_command_that_is_also_a_prefix_keeps_its_name_and_its_children_join_it() -> None:
    catalog = CommandCatalog(
        [
            Command(("round",), "Start."),
            Command(("round", "status"), "Status."),
            Command(("team", "board"), "Board."),
            Command(("team", "board", "hide"), "Hide.", params=(Param("x", IntType("x"), "x"),)),
            Command(("team", "channel", "daily"), "Daily."),
        ]
    )

    assert discord_paths(catalog) == {
        "round": ("round",),
        "round status": ("round-status",),
        "team board": ("team", "board"),
        "team board hide": ("team", "board-hide"),
        "team channel daily": ("team", "channel", "daily"),
    }
    built = build_commands(catalog, on_command=noop)
    assert sorted(c.name for c in built) == ["round", "round-status", "team"]


def test_the_invite_permission_integer_is_the_sum_of_what_the_port_declares() -> None:
    expected = 0
    for name in (
        "view_channel",
        "send_messages",
        "send_messages_in_threads",
        "embed_links",
        "attach_files",
        "add_reactions",
        "read_message_history",
    ):
        expected |= getattr(discord.Permissions, name).flag
    assert invite.permissions().value == expected
    assert f"permissions={expected}" in invite.invite_url(application_id=1)
    assert "scope=bot+applications.commands" in invite.invite_url(application_id=1)


def test_the_setup_guide_states_the_current_permission_integer() -> None:
    guide = (ROOT / "docs" / "discord.md").read_text(encoding="utf-8")
    assert f"permissions={invite.permissions().value}" in guide
    for line in invite.explain():
        assert line.split(":")[0] in guide


# ---- the drillbot command ---------------------------------------------------------------


async def test_invite_url_looks_up_the_application_with_the_token(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (TOKEN_ENV, API_URL_ENV, GATEWAY_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    env = {TOKEN_ENV: "fake-bot-token", API_URL_ENV: fake.base_url}

    process = await drillbot("discord", "invite-url", env=env, cwd=tmp_path)
    out, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0] == invite.invite_url(application_id=APPLICATION_ID)
    assert f"permissions integer: {invite.permissions().value}" in lines
    assert "fake-bot-token" not in out.decode() + err.decode()


async def test_invite_url_without_token_or_id_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    process = await drillbot("discord", "invite-url", env={}, cwd=tmp_path)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "DISCORD_TOKEN" in err.decode() and "--application-id" in err.decode()


async def test_run_serves_discord_until_stopped(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DRILLBOT_DATABASE_URL", raising=False)
    env = {
        TOKEN_ENV: "fake-bot-token",
        API_URL_ENV: fake.base_url,
        GATEWAY_URL_ENV: fake.gateway_url,
    }
    process = await drillbot("run", "--platform", "discord", env=env, cwd=tmp_path)
    try:
        await fake.wait_for(lambda: fake.connected_shards() == {0}, within=60)
        assert fake.of("PUT", rf"/applications/{APPLICATION_ID}/commands")
    finally:
        process.send_signal(signal.SIGTERM)  # how a container is stopped
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert (tmp_path / "drillbot.db").exists()
    assert "fake-bot-token" not in err.decode()


async def test_run_without_a_token_stops_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    process = await drillbot("run", "--platform", "discord", env={}, cwd=tmp_path)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert err.decode().strip().startswith("drillbot: set DISCORD_TOKEN")
