"""Is this process ready for traffic: database reachable, schema current, platforms up.

Kubernetes takes an unready replica out of the Slack load balancer until it recovers, so
every reason must be one an operator can act on, and the check must finish quickly even
when the database hangs (hence the timeout).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError, OperationalError

from bot.storage.database import current_revision, head_revision, redact_url

if TYPE_CHECKING:
    from bot.bootstrap import App

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0


def _first_line(error: BaseException) -> str:
    reason = getattr(error, "orig", None) or error
    text = str(reason).strip()
    return text.splitlines()[0] if text else type(reason).__name__


async def check_ready(
    app: App,
    *,
    within: float = DEFAULT_TIMEOUT,
    connected: Mapping[str, Callable[[], bool]] | None = None,
) -> tuple[bool, list[str]]:
    """(ready, reasons) for a built `bot.bootstrap.App`.

    `connected` maps a platform name to a callable saying whether its connection is up
    (e.g. the Discord client's ``is_ready``); the CLI passes the platforms it serves.
    """
    reasons: list[str] = []
    shown = redact_url(app.settings.database_url)
    try:
        revision = await asyncio.wait_for(current_revision(app.engine), timeout=within)
    except TimeoutError:
        reasons.append(f"database {shown} did not answer within {within:g}s")
    except (OperationalError, DBAPIError, OSError) as error:
        reasons.append(f"database {shown} unreachable: {_first_line(error)}")
    else:
        head = head_revision()
        if revision != head:
            reasons.append(
                f"database {shown} is at migration {revision or 'none'}, expected {head} "
                "(run: drillbot db upgrade)"
            )
    if not reasons:
        backlog = await app.service.inbound_backlog()
        limit = app.settings.inbound.backlog_limit
        if backlog > limit:
            reasons.append(
                f"{backlog} inbound events wait to be processed (limit {limit}); "
                "acknowledging is slowed until the backlog shrinks"
            )
    for platform, is_up in sorted((connected or {}).items()):
        try:
            up = bool(is_up())
        except Exception as error:  # a probe must not crash on a half-built client
            logger.debug("connection check for %s raised %s", platform, error)
            up = False
        if not up:
            reasons.append(f"{platform} is not connected")
    return not reasons, reasons
