"""Prometheus metrics for one drillbot process, in a registry of their own.

A private `CollectorRegistry` (not prometheus-client's global one) keeps tests and
several apps in one process from sharing counters, and keeps nothing global at import.
"""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import generate_latest

logger = logging.getLogger(__name__)

NAMESPACE = "drillbot"
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The numbers an operator alerts on; the CLI hands one instance to the core and the
    health endpoint.

    Names as exported (all prefixed ``drillbot_``):

    - ``posts_sent_total{platform,kind}`` and ``posts_failed_total{platform,kind}``:
      outbox deliveries; a failure here is a post given up for good.
    - ``grades_recorded_total{platform,grade}``: self-grades kept.
    - ``tick_lag_seconds``: how late the last tick claimed the work that was due.
    - ``rate_limit_wait_seconds_total{platform}``: time spent waiting for the rate limiter
      or a platform's Retry-After.
    - ``active_mock_rounds``: mock and quick-fire rounds in progress (every instance),
      counted from the database when /metrics is scraped.
    - ``inbound_backlog``: inbound events stored and not yet processed (every instance),
      counted when scraped; ``inbound_dead_letters_total``: events kept as dead letters.
    """

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.posts_sent = Counter(
            "posts_sent",
            "Posts delivered to a platform, by platform and kind.",
            ["platform", "kind"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.posts_failed = Counter(
            "posts_failed",
            "Posts given up for good (permanent error or too many attempts).",
            ["platform", "kind"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.grades_recorded = Counter(
            "grades_recorded",
            "Self-grades recorded, by platform and grade.",
            ["platform", "grade"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.tick_lag = Gauge(
            "tick_lag_seconds",
            "How late the last tick claimed due work (0 when nothing was due).",
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.rate_limit_wait = Counter(
            "rate_limit_wait_seconds",
            "Seconds spent waiting on rate limits and Retry-After, by platform.",
            ["platform"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.inbound_dead_letters = Counter(
            "inbound_dead_letters",
            "Inbound events that kept failing and were kept with their error.",
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.inbound_backlog = Gauge(
            "inbound_backlog",
            "Inbound events stored and not yet processed (every instance), when scraped.",
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.active_mock_rounds = Gauge(
            "active_mock_rounds",
            "Mock and quick-fire rounds currently in progress.",
            namespace=NAMESPACE,
            registry=self.registry,
        )

    # Small verbs, so callers do not need to know prometheus-client's label API.

    def post_sent(self, *, platform: str, kind: str, count: int = 1) -> None:
        self.posts_sent.labels(platform=platform, kind=kind).inc(count)

    def post_failed(self, *, platform: str, kind: str, count: int = 1) -> None:
        self.posts_failed.labels(platform=platform, kind=kind).inc(count)

    def grade_recorded(self, *, platform: str, grade: str) -> None:
        self.grades_recorded.labels(platform=platform, grade=grade).inc()

    def observe_tick_lag(self, *, seconds: float) -> None:
        self.tick_lag.set(max(0.0, seconds))

    def rate_limit_waited(self, *, platform: str, seconds: float) -> None:
        if seconds > 0:
            self.rate_limit_wait.labels(platform=platform).inc(seconds)

    def inbound_dead_letter(self) -> None:
        self.inbound_dead_letters.inc()

    def set_inbound_backlog(self, *, count: int) -> None:
        self.inbound_backlog.set(count)

    def set_active_mock_rounds(self, *, count: int) -> None:
        self.active_mock_rounds.set(count)

    def render(self) -> bytes:
        """The registry in Prometheus' text exposition format."""
        return generate_latest(self.registry)
