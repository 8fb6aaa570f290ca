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
from adapters.console.translate import CONSOLE_HELP, Quit, SwitchPlace, translate
from bot.commands import UsageError
from bot.domain.grades import GradeVocabulary
from bot.events import CommandInvoked, Conversation
from bot.messages import Text
from bot.service import DrillService, console_actor

logger = logging.getLogger(__name__)


async def run_console(
    service: DrillService, *, stdin: TextIO | None = None, out: TextIO | None = None
) -> None:
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


def _print(out: TextIO, message: Text) -> None:
    out.write(render(message) + "\n")
    out.flush()
