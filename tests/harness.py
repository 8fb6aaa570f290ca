"""A running core on a real database with a fake clock and the recording port."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from adapters.fake import FakeChatPort
from bank.loader import Bank, load_files
from bot.bootstrap import App, build
from bot.clock import FakeClock
from bot.config import load_settings
from bot.domain.grades import Grade
from bot.events import (
    Actor,
    ButtonPressed,
    CommandInvoked,
    Conversation,
    ReactionAdded,
    ReactionRemoved,
)
from bot.ports import NO_METRICS, MetricsSink
from bot.storage.database import transaction

SMALL_BANK = Path(__file__).with_name("fixtures") / "bank" / "small.yaml"
PLATFORM = "fake"
TEAM = "T1"
SPREAD_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati")


@dataclass
class Harness:
    app: App
    port: FakeChatPort
    clock: FakeClock
    _ids: itertools.count

    @classmethod
    async def start(
        cls,
        *,
        database_url: str,
        now: datetime,
        bank: Bank | None = None,
        config: dict | None = None,
        metrics: MetricsSink = NO_METRICS,
    ) -> Harness:
        settings = load_settings(env={}, database_url=database_url)
        if config:
            settings = settings.model_validate({**settings.model_dump(), **config}).model_copy(
                update={"database_url": database_url}
            )
        port = FakeChatPort(platform=PLATFORM)
        clock = FakeClock(now)
        app = await build(
            settings,
            ports={PLATFORM: port},
            clock=clock,
            bank=bank or load_files([SMALL_BANK]),
            metrics=metrics,
        )
        return cls(app=app, port=port, clock=clock, _ids=itertools.count(1))

    async def close(self) -> None:
        await self.app.close()

    @property
    def service(self):
        return self.app.service

    async def tick(self):
        return await self.app.dispatcher.tick()

    async def run_until(self, until: datetime, *, step: timedelta = timedelta(minutes=1)) -> None:
        """Tick every `step` of fake time up to `until` (the last tick exactly at `until`),
        as the real ticker would."""
        while self.clock.now() < until:
            self.clock.advance(min(step, until - self.clock.now()))
            await self.tick()

    async def jump_through(self, until: datetime) -> None:
        """Move from one due run to the next until `until`, ticking at each."""
        while True:
            due = await self.app.dispatcher.next_due()
            if due is None or due > until:
                self.clock.set(max(self.clock.now(), until))
                await self.tick()
                return
            self.clock.set(max(self.clock.now(), due))
            await self.tick()

    def last_text(self) -> str:
        return self.port.texts()[-1]

    def actor(self, user: str, *, admin: bool = False, timezone: str | None = None) -> Actor:
        return Actor(
            platform=PLATFORM,
            team_ref=TEAM,
            user_ref=user,
            display_name=user.title(),
            is_admin=admin,
            timezone=timezone,
        )

    def dm(self, user: str) -> Conversation:
        return Conversation(channel_ref=f"D-{user}", is_dm=True)

    def event_id(self) -> str:
        return f"ev-{next(self._ids)}"

    async def subscribe_members(self, count: int, *, local_time: Callable[[int], str]) -> None:
        """Members m0, m1... subscribed daily to one quick-fire and one screening question,
        at `local_time(index)`, spread over zones from UTC-5 to UTC+14."""
        for index in range(count):
            await self.command(
                "drillbot subscribe",
                user=f"m{index}",
                time=local_time(index),
                timezone=SPREAD_ZONES[index % len(SPREAD_ZONES)],
                days="daily",
                quickfire=1,
                screening=1,
            )

    async def command(
        self,
        name: str,
        *,
        user: str = "ana",
        channel: str | None = None,
        event_id: str | None = None,
        admin: bool = False,
        **args: Any,
    ) -> None:
        command = self.service.catalog.get(name)
        assert command is not None, name
        parsed = command.coerce(args)
        conversation = Conversation(channel_ref=channel, is_dm=False) if channel else self.dm(user)
        await self.service.handle(
            CommandInvoked(
                event_id=event_id or self.event_id(),
                actor=self.actor(user, admin=admin),
                conversation=conversation,
                command=name,
                args=parsed,
            )
        )

    async def react(
        self,
        message_ref: str,
        grade: Grade,
        *,
        user: str = "ana",
        channel: str | None = None,
        event_id: str | None = None,
    ) -> None:
        await self.service.handle(
            ReactionAdded(
                event_id=event_id or self.event_id(),
                actor=self.actor(user),
                conversation=Conversation(
                    channel_ref=channel or f"D-{user}", is_dm=channel is None
                ),
                message_ref=message_ref,
                grade=grade,
            )
        )

    async def unreact(
        self,
        message_ref: str,
        grade: Grade | None,
        *,
        user: str = "ana",
        channel: str | None = None,
    ) -> None:
        await self.service.handle(
            ReactionRemoved(
                event_id=self.event_id(),
                actor=self.actor(user),
                conversation=Conversation(
                    channel_ref=channel or f"D-{user}", is_dm=channel is None
                ),
                message_ref=message_ref,
                grade=grade,
            )
        )

    async def press(
        self,
        post_id: int,
        action: str,
        *,
        user: str = "ana",
        grade: Grade | None = None,
        in_dm: bool = True,
    ) -> None:
        delivery = self.port.delivery_of_card(post_id)
        await self.service.handle(
            ButtonPressed(
                event_id=self.event_id(),
                actor=self.actor(user),
                conversation=Conversation(channel_ref=delivery.channel_ref, is_dm=in_dm),
                message_ref=delivery.message_ref,
                post_id=post_id,
                action=action,
                grade=grade,
            )
        )

    async def rows(self, model, *where) -> list:
        async with transaction(self.app.sessions) as session:
            return list(await session.scalars(select(model).where(*where)))
