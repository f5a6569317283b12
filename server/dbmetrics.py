"""Database command monitoring: every command the app's MongoDB client sends, counted and timed.

A ``pymongo.monitoring.CommandListener`` registered on the client (``server/db.py:connect``)
feeds two Prometheus series on ``/metrics``:

- ``murmur_db_commands_total{command, collection}``: commands that finished (succeeded or
  failed), so operators and ``bench/rest.py`` see round trips per request from the deltas;
- ``murmur_db_command_seconds{command}``: how long each took, as the driver measured it;
- ``murmur_db_secondary_reads_total{collection, mode}``: commands sent with a read
  preference that lets a secondary answer (``server/readpref.py``), so an operator can see
  that ``MONGODB_SECONDARY_READS`` took effect.

The registry is the listener's own (no import-time globals): one per client, so tests that
build several apps in one process never share counts.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from pymongo import monitoring

# Commands whose first value is not a collection name (admin and cursor commands).
_NO_COLLECTION = {"ping", "hello", "ismaster", "isMaster", "buildInfo", "endSessions"}


def collection_of(command_name: str, command: Any) -> str:
    """The collection a command works on ("" for database-level commands)."""
    if not command:  # sensitive commands (authentication) are redacted to {}
        return ""
    if command_name == "getMore":
        return str(command.get("collection", ""))
    if command_name in _NO_COLLECTION:
        return ""
    value = command.get(command_name)
    return value if isinstance(value, str) else ""


class CommandMetrics(monitoring.CommandListener):
    """Counts and times every command; its registry is rendered on ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "murmur_db_commands",
            "Database commands sent by the app (each one a round trip)",
            ["command", "collection"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "murmur_db_command_seconds",
            "Database command duration, as the driver measured it",
            ["command"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.secondary_reads = Counter(
            "murmur_db_secondary_reads",
            "Commands a secondary may answer (their $readPreference is not primary)",
            ["collection", "mode"],
            registry=self.registry,
        )
        # request id -> collection: the finish events do not carry the command body.
        self._pending: dict[tuple[int, int], str] = {}
        self.total = 0  # commands finished so far (cheap to read in tests)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Remember which collection the command is for, until it finishes."""
        if len(self._pending) > 10_000:  # finish events that never came (a dropped connection)
            self._pending.clear()
        key = (event.request_id, event.operation_id or 0)
        collection = self._pending[key] = collection_of(event.command_name, event.command)
        preference = event.command.get("$readPreference") if event.command else None
        if preference and preference.get("mode", "primary") != "primary":
            self.secondary_reads.labels(collection, preference["mode"]).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Count and time it."""
        self._finish(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Count and time it too: a failed command was a round trip all the same."""
        self._finish(event)

    def _finish(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent
    ) -> None:
        collection = self._pending.pop((event.request_id, event.operation_id or 0), "")
        self.total += 1
        self.commands.labels(event.command_name, collection).inc()
        self.seconds.labels(event.command_name).observe(event.duration_micros / 1e6)

    def render(self) -> bytes:
        """The Prometheus text exposition of both series."""
        return generate_latest(self.registry)


def commands_in(metrics_text: str) -> dict[tuple[str, str], float]:
    """(command, collection) -> count, read back from a ``/metrics`` page (for the benchmark
    and tests, which see the server only over HTTP)."""
    from prometheus_client.parser import text_string_to_metric_families

    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "murmur_db_commands":
            continue
        for sample in family.samples:
            if sample.name == "murmur_db_commands_total":
                key = (sample.labels["command"], sample.labels["collection"])
                counts[key] = sample.value
    return counts


def command_seconds_in(metrics_text: str) -> float:
    """Seconds spent in database commands so far, read back from a ``/metrics`` page."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "murmur_db_command_seconds":
            total += sum(s.value for s in family.samples if s.name.endswith("_sum"))
    return total
