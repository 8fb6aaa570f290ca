"""Log output for people (text) or for log pipelines (JSON lines), with secrets removed.

Redaction happens in a handler filter, after the message is formatted, so a token that
reaches a log line by any road (an f-string, an exception from a client library, a
database URL in an error) is replaced before anything is written.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

logger = logging.getLogger(__name__)

SECRET_ENV_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DISCORD_TOKEN",
    "DRILLBOT_DATABASE_URL",
    "PGPASSWORD",
)
REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter values would blank out ordinary words

# Slack tokens by prefix (bot, user, app-level, legacy), Discord bot tokens (three
# base64url parts), Authorization header values, URL passwords.
TOKEN_PATTERNS = (
    re.compile(r"\bxox[abposer]-[A-Za-z0-9-]+"),
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
    re.compile(r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"),
    re.compile(r"\b(?:[Bb]earer|Bot)\s+[A-Za-z0-9._~+/=-]{20,}"),
)
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<secret>[^@\s/]+)(?=@)")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else came from `extra=` and goes into JSON.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of known secret variables, and the password inside a database URL."""
    values: list[str] = []
    for name in SECRET_ENV_VARS:
        value = (env.get(name) or "").strip()
        if not value:
            continue
        if "://" in value:
            match = URL_PASSWORD.search(value)
            if match:
                values.append(match.group("secret"))
            continue  # the rest of a URL (host, database name) is not secret
        values.append(value)
    return [value for value in values if len(value) >= MIN_SECRET_LENGTH]


def redact(text: str, *, secrets: Iterable[str] = ()) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(_keep_scheme, text)
    return URL_PASSWORD.sub(lambda m: m.group("head") + "***", text)


def _keep_scheme(match: re.Match[str]) -> str:
    """A header like `Bot abc...` becomes `Bot [redacted]`: the line still says what was sent."""
    word = match.group(0).split()[0]
    return f"{word} {REDACTED}" if word.lower() in ("bearer", "bot") else REDACTED


class RedactingFilter(logging.Filter):
    """Replaces secrets in the formatted message and in exception text of every record."""

    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, secrets=self._secrets)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets=self._secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets=self._secrets)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, plus exception and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(
    *,
    level: str = "INFO",
    fmt: Literal["text", "json"] = "text",
    stream: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> logging.Handler:
    """Replace the root handlers with one redacting handler in the chosen format."""
    env = os.environ if env is None else env
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter(secrets=secret_values(env)))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries are chatty at INFO; their warnings still show.
    quiet = max(logging.WARNING, logging.getLevelName(level.upper()))
    for noisy in ("alembic", "aiosqlite", "sqlalchemy", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(quiet)
    return handler


class OncePerInterval:
    """Warnings that anyone on the internet can trigger (a forged request, a garbled
    payload), logged once a minute per kind with how many more there were, so that a
    flood cannot fill the disk."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._monotonic = monotonic
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        now = self._monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last[kind] = now
        more = self._suppressed.pop(kind, 0)
        suffix = f" ({more} more like it in the last minute)" if more else ""
        self._logger.warning(message + suffix, *args)
