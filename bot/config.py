"""drillbot.yaml plus environment variables, validated once at start.

Secrets (database passwords, platform tokens) come from the environment only; the YAML
file holds settings a team can commit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bank.yamldoc import YamlFileError, describe_location, load_yaml
from bot.domain.grades import DEFAULT_ALIASES, Grade
from bot.ratelimit import RateLimits
from bot.srs import DEFAULT_RETENTION

DEFAULT_CONFIG_FILE = "drillbot.yaml"
DEFAULT_DATABASE_URL = "sqlite:///drillbot.db"


class ConfigError(Exception):
    """A setting is wrong; the message names the file, line and key."""


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r} (use a name like Europe/Berlin or UTC)"
        ) from None
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamSettings(Section):
    name: str = "Study group"
    timezone: str = "UTC"

    _tz = field_validator("timezone")(_check_timezone)


class DatabaseSettings(Section):
    url: str | None = None


class BankSettings(Section):
    paths: tuple[Path, ...] = ()


class ConsoleSettings(Section):
    user: str = "you"
    display_name: str = "You"
    admin: bool = True
    timezone: str | None = None
    channel: str = "study"
    charts_dir: Path = Path("drillbot-charts")

    _tz = field_validator("timezone")(_check_timezone)


class GradeSettings(Section):
    """Extra words or emoji names a team wants to count as each grade."""

    strong: tuple[str, ...] = DEFAULT_ALIASES[Grade.STRONG]
    lean: tuple[str, ...] = DEFAULT_ALIASES[Grade.LEAN]
    no: tuple[str, ...] = DEFAULT_ALIASES[Grade.NO]
    # Which cards get the 🟢 🟡 🔴 reactions as hints: every card, only channel posts
    # (DM cards carry grade buttons; saves three platform calls a card), or none.
    reaction_hints: Literal["all", "channels", "none"] = "all"

    def aliases(self) -> dict[Grade, tuple[str, ...]]:
        return {Grade.STRONG: self.strong, Grade.LEAN: self.lean, Grade.NO: self.no}


class DrillSettings(Section):
    default_count: Annotated[int, Field(ge=1, le=10)] = 3


class SrsSettings(Section):
    # Both chosen with bench/learning.py: docs/benchmarks.md has the figures.
    desired_retention: Annotated[float, Field(gt=0.5, lt=1.0)] = DEFAULT_RETENTION
    max_reviews_per_day: Annotated[int, Field(ge=1, le=200)] = 20
    repeat_gap_days: Annotated[int, Field(ge=0, le=60)] = 7


class ScheduleSettings(Section):
    tick_seconds: Annotated[float, Field(ge=1, le=3600)] = 30
    grace_hours: Annotated[float, Field(ge=0, le=48)] = 6
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 1000
    default_time: str = "08:30"
    quickfire: Annotated[int, Field(ge=0, le=10)] = 3
    screening: Annotated[int, Field(ge=0, le=5)] = 1

    @field_validator("default_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"expected a time like 08:30, got {value!r}")
        return value


class PlatformRate(Section):
    per_second: Annotated[float, Field(gt=0, le=10_000)] | None = None
    per_channel_per_second: Annotated[float, Field(gt=0, le=1_000)] | None = None
    burst: Annotated[int, Field(ge=1, le=1000)] = 1


class RateLimitSettings(Section):
    """Outbound sends per second; the defaults follow Slack's and Discord's published limits."""

    slack: PlatformRate = PlatformRate(per_second=20, per_channel_per_second=1, burst=1)
    discord: PlatformRate = PlatformRate(per_second=50, per_channel_per_second=5, burst=5)

    def limits(self) -> dict[str, RateLimits]:
        return {
            name: RateLimits(rate.per_second, rate.per_channel_per_second, rate.burst)
            for name, rate in (("slack", self.slack), ("discord", self.discord))
        }


class SlackSettings(Section):
    """Slack: tokens come from SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET."""

    mode: Literal["socket", "http"] = "socket"
    http_port: Annotated[int, Field(ge=1, le=65535)] = 3000
    http_path: str = "/slack/events"
    admin_user_ids: tuple[str, ...] = ()
    grade_emoji: dict[Literal["strong", "lean", "no"], str] = {
        "strong": "large_green_circle",
        "lean": "large_yellow_circle",
        "no": "red_circle",
    }


class DiscordSettings(Section):
    """Discord: the token comes from DISCORD_TOKEN."""

    shards: Literal["auto", "none"] = "none"
    shard_ids: tuple[int, ...] | None = None
    shard_count: Annotated[int, Field(ge=1)] | None = None
    dev_guild_id: int | None = None
    admin_user_ids: tuple[int, ...] = ()


class InboundSettings(Section):
    """The inbound journal: events are stored before they are acknowledged."""

    retention_days: Annotated[int, Field(ge=1, le=365)] = 7
    backlog_limit: Annotated[int, Field(ge=100)] = 10_000


class Settings(Section):
    team: TeamSettings = TeamSettings()
    database: DatabaseSettings = DatabaseSettings()
    bank: BankSettings = BankSettings()
    console: ConsoleSettings = ConsoleSettings()
    grades: GradeSettings = GradeSettings()
    drill: DrillSettings = DrillSettings()
    srs: SrsSettings = SrsSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    inbound: InboundSettings = InboundSettings()
    log_level: str = "INFO"

    # Not from YAML: where the settings came from and what the environment added.
    source: Path | None = Field(default=None, exclude=True)
    database_url: str = Field(default=DEFAULT_DATABASE_URL, exclude=True)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError(f"must be DEBUG, INFO, WARNING or ERROR, got {value!r}")
        return value


def load_settings(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    database_url: str | None = None,
) -> Settings:
    """Read the config file (if any), apply the environment, validate everything.

    `path` None means ./drillbot.yaml when it exists, else defaults. An explicit path that
    does not exist is an error: the user asked for that file.
    """
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    document = None
    if path is None and Path(DEFAULT_CONFIG_FILE).exists():
        path = Path(DEFAULT_CONFIG_FILE)
    if path is not None:
        if not path.exists():
            raise ConfigError(f"{path}: config file not found")
        try:
            document = load_yaml(path, max_bytes=1024 * 1024)
        except YamlFileError as error:
            raise ConfigError(str(error)) from None
        if document.data is not None and not isinstance(document.data, dict):
            raise ConfigError(f"{path}:{document.line_of(())}: expected a mapping of settings")
        raw = dict(document.data or {})
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        detail = error.errors()[0]
        location = tuple(detail["loc"])
        line = document.line_of(location) if document else None
        where = f"{path}:{line}" if line else str(path or "settings")
        value = detail.get("input")
        shown = (
            "" if isinstance(value, dict) or detail["type"] == "missing" else f" (got {value!r})"
        )
        message = "unknown key" if detail["type"] == "extra_forbidden" else detail["msg"]
        message = message.removeprefix("Value error, ")
        raise ConfigError(f"{where}: {describe_location(location)}: {message}{shown}") from None
    url = database_url or env.get("DRILLBOT_DATABASE_URL") or settings.database.url
    base = path.parent if path is not None else Path.cwd()
    bank_paths = tuple(p if p.is_absolute() else base / p for p in settings.bank.paths)
    return settings.model_copy(
        update={
            "source": path,
            "database_url": url or DEFAULT_DATABASE_URL,
            "bank": BankSettings(paths=bank_paths),
        }
    )
