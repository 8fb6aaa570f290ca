"""Runs the console platform: reads lines, hands events to the core, prints replies.

Interactive in a terminal (with a prompt); with piped input it reads to the end, prints
every bot message to stdout and returns, so scripts and tests drive it like a person.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from typing import TextIO

from adapters.console.render import render
from adapters.console.translate import (
    CONSOLE_HELP,
    MoveClock,
    Quit,
    SwitchPlace,
    clock_target,
    translate,
)
from bot.clock import ShiftedClock
from bot.commands import UsageError
from bot.dispatch import Dispatcher
from bot.domain.grades import GradeVocabulary
from bot.events import CommandInvoked, Conversation
from bot.messages import Text
from bot.service import DrillService, console_actor

logger = logging.getLogger(__name__)


# How many scheduled runs one /clock jump delivers at most (a year of daily drills).
MAX_RUNS_PER_JUMP = 10_000


async def run_console(
    service: DrillService,
    *,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    clock: ShiftedClock | None = None,
    dispatcher: Dispatcher | None = None,
) -> None:
    """`clock` and `dispatcher` make /clock work (drillbot run gives them)."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    settings = service.settings
    vocabulary = GradeVocabulary(settings.grades.aliases())
    actor = console_actor(settings)
    dm = Conversation(channel_ref=f"dm-{settings.console.user}", is_dm=True)
    channel = Conversation(channel_ref=settings.console.channel, is_dm=False)
    conversation = dm
    interactive = stdin.isatty()
    if interactive:
        out.write(
            f"drillbot console: {len(service.bank)} questions loaded. This is your DM with "
            f"drillbot, as {actor.display_name}. Type /help, or /drill to start.\n"
        )
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            place = "dm" if conversation.is_dm else f"#{conversation.channel_ref}"
            out.write(f"{actor.user_ref}@{place}> ")
            out.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        try:
            event = translate(
                line,
                catalog=service.catalog,
                vocabulary=vocabulary,
                actor=actor,
                conversation=conversation,
                event_id=f"console-{uuid.uuid4().hex}",
            )
        except UsageError as error:
            _print(out, Text(text=f"⚠ {error}"))
            continue
        if event is None:
            continue
        if isinstance(event, Quit):
            break
        if isinstance(event, MoveClock):
            zone = actor.timezone or settings.team.timezone
            try:
                text = await _move_clock(event.spec, clock, dispatcher, timezone=zone)
            except UsageError as error:
                text = f"⚠ {error}"
            _print(out, Text(text=text))
            continue
        if isinstance(event, SwitchPlace):
            conversation = channel if event.to_channel else dm
            where = f"#{channel.channel_ref}" if event.to_channel else "your DM"
            _print(out, Text(text=f"(now typing in {where})"))
            continue
        await service.handle(event)
        if isinstance(event, CommandInvoked) and event.command == "help":
            _print(out, Text(text=CONSOLE_HELP))
    if interactive:
        out.write("bye\n")


async def _move_clock(
    spec: str, clock: ShiftedClock | None, dispatcher: Dispatcher | None, *, timezone: str
) -> str:
    """Show the console's time, or move it to `spec`, stopping at every scheduled run on
    the way so each is delivered as it would have been (a jump straight past a run would
    find it too late to send)."""
    if clock is None or dispatcher is None:
        return "⚠ /clock works in `drillbot run --platform console`."
    if not spec:
        return f"Console time: {_local(clock.now(), timezone)}. Move it with /clock +1d."
    target = clock_target(spec, now=clock.now(), timezone=timezone)
    for _ in range(MAX_RUNS_PER_JUMP):
        due = await dispatcher.next_due()
        if due is None or due > target:
            break
        clock.set(due)
        await dispatcher.tick()
    clock.set(target)
    await dispatcher.tick()
    return f"Console time is now {_local(clock.now(), timezone)}."


def _local(when, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    local = when.astimezone(ZoneInfo(timezone))
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def _print(out: TextIO, message: Text) -> None:
    out.write(render(message) + "\n")
    out.flush()
