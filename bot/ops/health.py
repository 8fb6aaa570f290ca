"""The operations HTTP endpoints: /healthz, /readyz and /metrics.

They live on their own port (not the Slack events port) so a load balancer or kubelet
can probe them without reaching the chat handlers, and so they keep answering while a
platform connection is down: that is exactly when /readyz has something to say.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from bot.ops.metrics import CONTENT_TYPE, Metrics

if TYPE_CHECKING:
    from bot.bootstrap import App

logger = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[tuple[bool, Sequence[str]]]]

Refresh = Callable[[Metrics], Awaitable[None]]

READY_CHECK_KEY = web.AppKey("ready_check", ReadyCheck)
METRICS_KEY = web.AppKey("metrics", Metrics)
REFRESH_KEY = web.AppKey("refresh", Refresh)


async def _healthz(request: web.Request) -> web.Response:
    """Alive means the event loop answers; nothing else, so a slow database never gets a
    healthy process restarted."""
    return web.Response(text="ok\n")


async def _readyz(request: web.Request) -> web.Response:
    check = request.app[READY_CHECK_KEY]
    try:
        ok, reasons = await check()
    except Exception as error:  # a broken check means "not ready", never a 500
        logger.warning("readiness check failed: %s", error)
        ok, reasons = False, [f"readiness check failed: {error}"]
    if ok:
        return web.Response(text="ready\n")
    lines = "".join(f"- {reason}\n" for reason in reasons) or "- not ready\n"
    return web.Response(status=503, text=f"not ready\n{lines}")


async def _metrics(request: web.Request) -> web.Response:
    metrics = request.app[METRICS_KEY]
    refresh = request.app.get(REFRESH_KEY)
    if refresh is not None:
        try:
            await refresh(metrics)
        except Exception as error:  # stale gauges beat a failed scrape
            logger.warning("could not refresh metrics: %s", error)
    body = metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def health_app(
    *, ready_check: ReadyCheck, metrics: Metrics | None = None, refresh: Refresh | None = None
) -> web.Application:
    """An aiohttp app serving the three endpoints.

    `ready_check` returns (ready, reasons); reasons are shown to whoever probes, so they
    must never contain a secret (readiness.check_ready only names hosts and revisions).
    `refresh` sets the gauges that are read from the database, at scrape time only.
    """
    app = web.Application()
    app[READY_CHECK_KEY] = ready_check
    app[METRICS_KEY] = metrics if metrics is not None else Metrics()
    if refresh is not None:
        app[REFRESH_KEY] = refresh
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    return app


async def serve_health(*, app: web.Application, host: str = "0.0.0.0", port: int) -> web.AppRunner:
    """Start serving `app` on host:port in the running loop; `await runner.cleanup()` stops it."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host=host, port=port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port  # port 0: the one chosen
    logger.info("health and metrics on http://%s:%d (/healthz /readyz /metrics)", host, bound)
    return runner


async def start_health_server(
    *,
    drillbot: App,
    port: int,
    host: str = "0.0.0.0",
    metrics: Metrics | None = None,
    connected: Mapping[str, Callable[[], bool]] | None = None,
) -> web.AppRunner:
    """The endpoints for a built drillbot app, readiness from `check_ready`: what
    `drillbot run --http-port` starts next to the platform."""
    from bot.ops.readiness import check_ready
    from bot.rounds import count_active

    async def ready_check() -> tuple[bool, list[str]]:
        return await check_ready(drillbot, connected=connected)

    async def refresh(scraped: Metrics) -> None:
        scraped.set_active_mock_rounds(count=await count_active(drillbot.sessions))
        scraped.set_inbound_backlog(count=await drillbot.service.inbound_backlog())

    app = health_app(ready_check=ready_check, metrics=metrics, refresh=refresh)
    return await serve_health(app=app, host=host, port=port)
