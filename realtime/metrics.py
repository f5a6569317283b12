"""The hub's Prometheus metrics, in a registry of its own (no import-time globals)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .gates import Gate

CONTENT_TYPE = CONTENT_TYPE_LATEST
STREAM_KINDS = ("home", "notifications", "public", "hashtag", "user", "tweet")


def _count_of(counts: Callable[[], dict[str, int]], kind: str) -> Callable[[], float]:
    return lambda: float(counts().get(kind, 0))


def _attribute_of(gate: Gate, attribute: str) -> Callable[[], float]:
    return lambda: float(getattr(gate, attribute))


class HubMetrics:
    """Gauges read live from the hub; counters and a histogram it updates."""

    def __init__(
        self, open_sockets: Callable[[], int], subscriptions: Callable[[], dict[str, int]]
    ) -> None:
        self.registry = CollectorRegistry()
        Gauge(
            "murmur_ws_open_sockets", "Open WebSocket connections", registry=self.registry
        ).set_function(lambda: float(open_sockets()))
        by_kind = Gauge(
            "murmur_ws_subscriptions",
            "Socket subscriptions, by stream kind",
            ["kind"],
            registry=self.registry,
        )
        for kind in STREAM_KINDS:
            by_kind.labels(kind).set_function(_count_of(subscriptions, kind))
        self.published = Counter(
            "murmur_events_published", "Events published (per stream)", registry=self.registry
        )
        self.delivered = Counter(
            "murmur_events_delivered", "Event frames handed to sockets", registry=self.registry
        )
        self.dropped = Counter(
            "murmur_events_dropped",
            "Event frames dropped (slow sockets, Redis unavailable)",
            registry=self.registry,
        )
        self.latency = Histogram(
            "murmur_publish_to_send_seconds",
            "From publish to local fan-out onto sockets",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )

    def watch_gates(self, gates: Sequence[Gate]) -> None:
        """Admission control (``gates.py``): work in progress, waiting, and refused so far."""
        series = (
            ("murmur_ws_admission_busy", "Storm work in progress, by kind", "busy"),
            ("murmur_ws_admission_waiting", "Storm work waiting for a slot, by kind", "waiting"),
            ("murmur_ws_admission_rejected", "Sockets told to retry later (1013), by kind",
             "rejected"),
        )  # fmt: skip
        for name, text, attribute in series:
            gauge = Gauge(name, text, ["kind"], registry=self.registry)
            for gate in gates:
                gauge.labels(gate.kind).set_function(_attribute_of(gate, attribute))

    def render(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
