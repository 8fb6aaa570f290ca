"""The Discord side of drillbot: the discord.py client, its slash commands, card buttons and
grade reactions, all handed to the core as events.

- The command tree is built from the core's `CommandCatalog`, never written by hand:
  one-word commands are top-level (`/drill`, `/mock`, `/stats` ...), longer ones live in
  groups (`/drillbot subscribe`, `/drillbot channel daily`). Discord cannot invoke a group
  itself, so a command that is also the start of longer ones keeps its name and the
  longer ones are joined with a dash (`/mock`, `/mock-status`).
- A top-level command or group whose commands are all admin-only defaults to Manage Server
  in Discord; the core checks admin rights on every command either way.
- Every interaction is acknowledged (deferred) before the core touches the database, so a
  slow moment never shows "interaction failed"; the core's replies then fill it in.
- Reactions come from `on_raw_reaction_add` / `on_raw_reaction_remove`, which fire for
  uncached messages too. Each carries the gateway session and sequence number it was
  delivered with, so a dispatch replayed after a resume is recognised by the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import re
import uuid
import zoneinfo
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Literal, Optional

import discord
from discord import app_commands
from sqlalchemy.exc import DBAPIError, OperationalError

from adapters.discord.port import DiscordPort
from adapters.discord.render import CARD_BUTTON_TEMPLATE, CardButton, clip, render
from adapters.discord.translate import button_event, command_event, reaction_event
from bot.commands import (
    CORE_COMMANDS,
    ChoiceType,
    Command,
    CommandCatalog,
    IntType,
    Param,
    TimeZoneType,
    UsageError,
)
from bot.config import DiscordSettings, Settings
from bot.domain.grades import GradeVocabulary
from bot.events import Event
from bot.inbound.journal import actor_key
from bot.keyed_locks import KeyedLocks
from bot.messages import Text
from bot.ops.logs import OncePerInterval
from bot.ports import PlatformError
from bot.service import DrillService

logger = logging.getLogger(__name__)

COMMAND_EXTRA = "drillbot_command"
"""`extras` key on each Discord command: the core command it stands for."""

ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)
CONTEXTS = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=False)
INSTALLS = app_commands.AppInstallationType(guild=True, user=False)
MAX_SAFE_INTEGER = 2**53 - 1  # Discord's integer options are JSON numbers
MAX_CHOICES = 25

CommandHandler = Callable[[discord.Interaction, Command, dict[str, Any]], Awaitable[None]]


class DiscordSetupError(Exception):
    """The Discord settings or environment cannot work; the message says what to change."""


def gateway_intents() -> discord.Intents:
    """Guilds, guild and DM reactions, DM messages: no privileged intent, no message content."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    intents.dm_reactions = True
    intents.dm_messages = True
    return intents


# ---- the command tree, derived from the catalog ----------------------------------------


def discord_paths(catalog: CommandCatalog) -> dict[str, tuple[str, ...]]:
    """The Discord name (1 to 3 words) of every core command, keyed by the core name."""
    taken = {command.path for command in catalog}
    paths: dict[str, tuple[str, ...]] = {}
    for command in catalog:
        path = command.path
        for length in range(1, len(path)):
            if path[:length] in taken:  # that prefix is a command, so it cannot be a group
                path = (*path[: length - 1], "-".join(path[length - 1 :]))
                break
        if len(path) > 3:
            path = (*path[:2], "-".join(path[2:]))
        paths[command.name] = path
    seen: dict[tuple[str, ...], str] = {}
    for name, path in paths.items():
        if path in seen:
            raise ValueError(f"/{name} and /{seen[path]} would share the Discord name {path}")
        seen[path] = name
    leaves = set(paths.values())
    for path in leaves:
        for length in range(1, len(path)):
            if path[:length] in leaves:
                raise ValueError(f"Discord command {path[:length]} cannot also be a group")
    return paths


def command_renames(catalog: CommandCatalog) -> dict[str, str]:
    """Core names whose Discord name differs, e.g. ``mock status`` -> ``mock-status``."""
    return {
        name: " ".join(path)
        for name, path in discord_paths(catalog).items()
        if " ".join(path) != name
    }


async def timezone_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Suggest IANA zone names as the member types (Discord shows up to 25)."""
    typed = current.strip().lower().replace(" ", "_")
    names = [zone for zone in _zones() if typed in zone.lower()]
    names.sort(key=lambda zone: (not zone.lower().startswith(typed), len(zone), zone))
    return [app_commands.Choice(name=zone, value=zone) for zone in names[:MAX_CHOICES]]


@functools.cache
def _zones() -> tuple[str, ...]:
    return tuple(
        sorted(zone for zone in zoneinfo.available_timezones() if "/" in zone or zone == "UTC")
    )


def _annotation(param: Param) -> Any:
    """The option type Discord shows: numbers and choices natively, the rest as text that
    the core's own parser checks (times, timezones, days, dates, lists)."""
    kind = param.type
    if isinstance(kind, IntType):
        low = max(kind.minimum, -MAX_SAFE_INTEGER)
        high = min(kind.maximum, MAX_SAFE_INTEGER)
        annotation: Any = app_commands.Range[int, low, high]
    elif isinstance(kind, ChoiceType) and 0 < len(kind.choices) <= MAX_CHOICES:
        annotation = Literal[kind.choices]  # type: ignore[valid-type]
    else:
        annotation = str
    return annotation if param.required else Optional[annotation]  # noqa: UP045


def _slash_command(
    command: Command, *, name: str, on_command: CommandHandler, top_level: bool
) -> app_commands.Command:
    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        await on_command(interaction, command, options)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for param in command.params:
        parameters.append(
            inspect.Parameter(
                param.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(param),
                default=inspect.Parameter.empty if param.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    if command.params:
        app_commands.describe(**{p.name: clip(p.help, 100) for p in command.params})(callback)
    extra: dict[str, Any] = {}
    if top_level:
        extra = {"allowed_contexts": CONTEXTS, "allowed_installs": INSTALLS}
    slash = app_commands.Command(
        name=name,
        description=clip(command.help, 100),
        callback=callback,
        extras={COMMAND_EXTRA: command.name},
        **extra,
    )
    if top_level and command.admin_only:
        slash.default_permissions = ADMIN_PERMISSIONS
    for param in command.params:
        if isinstance(param.type, TimeZoneType):
            slash.autocomplete(param.name)(timezone_choices)
    return slash


def build_commands(
    catalog: CommandCatalog, *, on_command: CommandHandler
) -> list[app_commands.Command | app_commands.Group]:
    """Top-level Discord commands and groups for every command in the catalog."""
    paths = discord_paths(catalog)
    by_top: dict[str, list[tuple[Command, tuple[str, ...]]]] = {}
    for command in catalog:
        path = paths[command.name]
        by_top.setdefault(path[0], []).append((command, path))
    built: list[app_commands.Command | app_commands.Group] = []
    for top, entries in by_top.items():
        if len(entries) == 1 and len(entries[0][1]) == 1:
            built.append(
                _slash_command(entries[0][0], name=top, on_command=on_command, top_level=True)
            )
            continue
        admin_only = all(command.admin_only for command, _ in entries)
        group = app_commands.Group(
            name=top,
            description=_group_description(top, [path[1:] for _, path in entries]),
            default_permissions=ADMIN_PERMISSIONS if admin_only else None,
            allowed_contexts=CONTEXTS,
            allowed_installs=INSTALLS,
        )
        subgroups: dict[str, app_commands.Group] = {}
        for command, path in entries:
            parent = group
            if len(path) == 3:
                parent = subgroups.get(path[1])  # type: ignore[assignment]
                if parent is None:
                    parent = app_commands.Group(
                        name=path[1],
                        description=_group_description(
                            f"{top} {path[1]}", [p[2:] for _, p in entries if p[1] == path[1]]
                        ),
                        parent=group,  # registers itself with its parent
                    )
                    subgroups[path[1]] = parent
            parent.add_command(
                _slash_command(command, name=path[-1], on_command=on_command, top_level=False)
            )
        built.append(group)
    return built


def _group_description(name: str, tails: list[tuple[str, ...]]) -> str:
    words = ", ".join(" ".join(tail) for tail in tails if tail)
    return clip(f"/{name}: {words}", 100)


def build_tree(
    client: discord.Client, *, catalog: CommandCatalog, on_command: CommandHandler
) -> app_commands.CommandTree:
    tree = app_commands.CommandTree(client)
    for command in build_commands(catalog, on_command=on_command):
        tree.add_command(command)

    @tree.error
    async def on_tree_error(
        interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        # Usually Discord still shows an older command list; say so instead of failing.
        logger.warning("slash command failed before reaching drillbot: %s", error)
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(
                    "That command did not match what drillbot offers right now; "
                    "try again in a minute (Discord may still show an older command list).",
                    ephemeral=True,
                )
        except Exception as answer_error:  # nowhere to answer (a garbled interaction)
            logger.info("could not explain a failed slash command: %s", answer_error)

    return tree


def walk_commands(
    tree: app_commands.CommandTree, *, guild: discord.abc.Snowflake | None = None
) -> Iterator[tuple[str, str | None]]:
    """(Discord name, core name) for every leaf command in the tree."""
    stack: list[Any] = list(tree.get_commands(guild=guild))
    while stack:
        item = stack.pop()
        if isinstance(item, app_commands.Group):
            stack.extend(item.commands)
        else:
            yield item.qualified_name, item.extras.get(COMMAND_EXTRA)


# ---- the client -----------------------------------------------------------------------


_REACTION_EVENTS = ("raw_reaction_add", "raw_reaction_remove")
CARD_COMPONENT = re.compile(CARD_BUTTON_TEMPLATE)
STALE_COMPONENT_TEXT = (
    "That button is from an older card (or not one of drillbot's). /drill gets you fresh questions."
)


def _command_data_readable(data: Any) -> bool:
    """Whether an INTERACTION_CREATE has what discord.py's command tree reads first."""
    if not isinstance(data, dict):
        return False
    if data.get("type") not in (2, 4):  # not a slash command or its autocomplete
        return True
    return isinstance(data.get("data"), dict)


class _DrillbotGateway:
    """Shared by the plain and the sharded client: hands gateway events to the bot."""

    def __init__(self, *, bot: DiscordBot, **options: Any) -> None:
        super().__init__(**options)
        self.drillbot = bot
        self._positions: dict[int, str] = {}
        self._malformed = OncePerInterval(logger)
        state = self._connection  # type: ignore[attr-defined]
        state.parsers = {name: self._guarded(name, parse) for name, parse in state.parsers.items()}

    def _guarded(self, name: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        """discord.py parses each dispatch inside its gateway loop, where an exception
        ends the connection: a payload of unexpected shape is logged (rate-limited) and
        skipped instead."""

        def parse_or_skip(data: Any) -> None:
            try:
                if name == "INTERACTION_CREATE" and not _command_data_readable(data):
                    # discord.py's command tree would fail on it in a task of its own
                    raise ValueError("an application command without its data")
                parse(data)
            except Exception as error:
                self._malformed.warning(
                    f"gateway:{name}",
                    "skipped a %s from the gateway that did not parse: %s: %s",
                    name,
                    type(error).__name__,
                    error,
                )

        return parse_or_skip

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        # Runs inside the gateway's parsing of one message, so the shard's sequence
        # number is still the one this event was delivered with.
        if event in _REACTION_EVENTS and args:
            position = self._gateway_position(args[0])
            if position is not None:
                self._positions[id(args[0])] = position
        elif event in ("ready", "resumed"):  # logged here: a handler task would outlive close
            verb = "connected" if event == "ready" else "resumed the session"
            logger.info("%s to Discord as %s", verb, self.user)  # type: ignore[attr-defined]
        super().dispatch(event, *args, **kwargs)  # type: ignore[misc]

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A button or menu drillbot has no handler for (a card from an older version, a
        garbled id) would get no answer, and Discord would say the interaction failed."""
        if interaction.type is not discord.InteractionType.component:
            return
        data = interaction.data if isinstance(interaction.data, dict) else {}
        custom_id = str(data.get("custom_id") or "")
        if CARD_COMPONENT.fullmatch(custom_id):
            return  # a card button: CardButton answers it
        try:
            await interaction.response.send_message(STALE_COMPONENT_TEXT, ephemeral=True)
        except discord.HTTPException as error:
            logger.info("could not answer an unknown component: %s", error)
        except Exception as error:  # an interaction of unexpected shape: nobody to answer
            self._malformed.warning(
                "interaction",
                "could not answer a component interaction: %s: %s",
                type(error).__name__,
                error,
            )

    def _gateway_position(self, payload: Any) -> str | None:
        try:
            if payload.guild_id is not None:
                ws = self._get_websocket(payload.guild_id)  # type: ignore[attr-defined]
            else:
                ws = self._get_websocket(shard_id=0)  # type: ignore[attr-defined]
        except (KeyError, AttributeError, TypeError):
            return None
        if ws is None or ws.session_id is None or ws.sequence is None:
            return None
        return f"gateway:{ws.session_id}:{ws.sequence}"

    async def setup_hook(self) -> None:
        await self.drillbot.setup()

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.drillbot.reaction(payload, position=self._positions.pop(id(payload), None))

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.drillbot.reaction(payload, position=self._positions.pop(id(payload), None))

    async def card_button_pressed(
        self, interaction: discord.Interaction, *, action: str, post_id: int
    ) -> None:
        await self.drillbot.card_button_pressed(interaction, action=action, post_id=post_id)


class DrillbotClient(_DrillbotGateway, discord.Client):
    """One gateway connection: a bot in up to a couple of thousand servers."""


class ShardedDrillbotClient(_DrillbotGateway, discord.AutoShardedClient):
    """Several shards in this process; with `shard_ids`, only this replica's share."""


def make_client(settings: DiscordSettings, *, bot: DiscordBot, **options: Any) -> discord.Client:
    options = {
        "intents": gateway_intents(),
        "max_messages": None,  # reactions work on uncached messages; no cache needed
        "chunk_guilds_at_startup": False,
        "max_ratelimit_timeout": 30.0,  # longer waits go back to the outbox as retry_after
        **options,
    }
    sharded = (
        settings.shards == "auto"
        or settings.shard_ids is not None
        or settings.shard_count is not None
    )
    if not sharded:
        return DrillbotClient(bot=bot, **options)
    if settings.shard_ids is not None:
        if settings.shard_count is None:
            raise DiscordSetupError("discord.shard_ids needs discord.shard_count as well")
        wrong = [i for i in settings.shard_ids if not 0 <= i < settings.shard_count]
        if wrong:
            raise DiscordSetupError(
                f"discord.shard_ids {wrong} are outside 0..{settings.shard_count - 1}"
            )
    return ShardedDrillbotClient(
        bot=bot,
        shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None,
        shard_count=settings.shard_count,
        **options,
    )


class DiscordBot:
    """The client, its command tree and the port, wired to the core once it is built."""

    def __init__(
        self,
        *,
        settings: Settings,
        catalog: CommandCatalog = CORE_COMMANDS,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.vocabulary = GradeVocabulary(settings.grades.aliases())
        self.admin_user_ids = frozenset(settings.discord.admin_user_ids)
        self.client = make_client(settings.discord, bot=self, **dict(client_options or {}))
        self.tree = build_tree(self.client, catalog=catalog, on_command=self.command_invoked)
        self.renames = command_renames(catalog)
        self.port = DiscordPort(client=self.client, renames=self.renames)
        self.service: DrillService | None = None
        self._locks = KeyedLocks()
        self._in_flight: set[asyncio.Task] = set()

    def attach(self, service: DrillService) -> None:
        self.service = service

    async def drain(self, *, grace: float = 30.0) -> None:
        """After the gateway closed: let events already handed over finish with the core."""
        await asyncio.sleep(0)  # handlers scheduled by the last dispatches start now
        pending = {task for task in self._in_flight if not task.done()}
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            if late:
                logger.warning("%d event(s) were still being handled at shutdown", len(late))

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._in_flight.discard(task)

    @property
    def team_ref(self) -> str:
        return str(self.client.application_id or "discord")

    @property
    def syncs_commands(self) -> bool:
        """One replica registers the commands: the one with shard 0 (or the only one)."""
        shard_ids = self.settings.discord.shard_ids
        return shard_ids is None or 0 in shard_ids

    async def setup(self) -> None:
        """After login, before the gateway: persistent buttons, then the command list."""
        self.client.add_dynamic_items(CardButton)
        if not self.syncs_commands:
            return
        guild_id = self.settings.discord.dev_guild_id
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            logger.info("synced %d commands to the development server %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            logger.info("synced %d commands globally", len(synced))

    # ---- inbound ---------------------------------------------------------------------

    async def command_invoked(
        self, interaction: discord.Interaction, command: Command, options: dict[str, Any]
    ) -> None:
        try:
            args = command.coerce({k: v for k, v in options.items() if v is not None})
        except UsageError as error:
            shown = render(Text(text=f"⚠ {error}"), renames=self.renames)
            await interaction.response.send_message(
                shown.content, embed=shown.embed, ephemeral=True
            )
            return
        event = command_event(
            interaction,
            command=command.name,
            args=args,
            team_ref=self.team_ref,
            admin_user_ids=self.admin_user_ids,
        )
        await self._answer(interaction, event, thinking=True)

    async def card_button_pressed(
        self, interaction: discord.Interaction, *, action: str, post_id: int
    ) -> None:
        event = button_event(
            interaction,
            action=action,
            post_id=post_id,
            team_ref=self.team_ref,
            admin_user_ids=self.admin_user_ids,
        )
        await self._answer(interaction, event, thinking=False)

    async def reaction(
        self, payload: discord.RawReactionActionEvent, *, position: str | None
    ) -> None:
        user = self.client.user
        event = reaction_event(
            payload,
            bot_user_id=user.id if user is not None else None,
            vocabulary=self.vocabulary,
            team_ref=self.team_ref,
            admin_user_ids=self.admin_user_ids,
            event_id=position or f"reaction:{uuid.uuid4().hex}",  # no position: no dedupe
        )
        if event is None or self.service is None:
            return
        with self._tracked():
            await self._grade_by_reaction(event, payload)

    async def _grade_by_reaction(
        self, event: Event, payload: discord.RawReactionActionEvent
    ) -> None:
        assert self.service is not None
        async with self._locks.hold(f"{payload.user_id}:{payload.message_id}"):
            try:
                await self.service.handle(event)
            except PlatformError as error:  # the grade is kept; only the answer failed
                logger.warning("could not answer a reaction on %s: %s", payload.message_id, error)
            except Exception:  # one bad reaction must not stop the gateway
                logger.exception("could not handle a reaction on message %s", payload.message_id)

    async def _answer(
        self, interaction: discord.Interaction, event: Event, *, thinking: bool
    ) -> None:
        """Acknowledge at once, let the core work and reply, tidy up what stayed unanswered."""
        with self._tracked():
            await self._acknowledge_and_handle(interaction, event, thinking=thinking)

    async def _acknowledge_and_handle(
        self, interaction: discord.Interaction, event: Event, *, thinking: bool
    ) -> None:
        stored = False
        if self.service is not None:
            try:  # stored before the acknowledgement: nothing acknowledged is lost
                stored = await self.service.receive(event)
            except (OperationalError, DBAPIError, OSError) as error:
                logger.error("could not store %s: %s", type(event).__name__, error)
                await self._refuse(interaction, "drillbot cannot save that right now; try again.")
                return
        try:
            await interaction.response.defer(
                ephemeral=not event.conversation.is_dm, thinking=thinking
            )
        except discord.HTTPException as error:
            logger.warning("could not acknowledge an interaction in time: %s", error)
        if self.service is None:
            await self._say(interaction, "drillbot is still starting; try again in a moment.")
            return
        if not stored:
            return  # Discord delivered it twice; the first is being answered
        self.port.open_interaction(interaction, fills_original=thinking)
        try:
            await self.service.process_pending(actor_key(event.actor))
        except PlatformError as error:
            logger.warning("could not answer %s: %s", type(event).__name__, error)
        except Exception:
            logger.exception("could not handle %s", type(event).__name__)
            await self._say(interaction, "Something went wrong on drillbot's side; try again.")
        finally:
            await self.port.close_interaction(interaction)

    @staticmethod
    async def _refuse(interaction: discord.Interaction, text: str) -> None:
        """Answer an interaction that could not be stored, instead of acknowledging it."""
        try:
            await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as error:
            logger.info("could not tell the member: %s", error)

    @staticmethod
    async def _say(interaction: discord.Interaction, text: str) -> None:
        try:
            await interaction.followup.send(text, ephemeral=True)
        except discord.HTTPException as error:
            logger.info("could not tell the member: %s", error)
