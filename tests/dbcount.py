"""Counting an app's database commands in tests, from its command listener (server/dbmetrics.py)."""

from __future__ import annotations

import contextlib
from typing import Any


def by_collection(app: Any) -> dict[str, float]:
    """Database commands the app sent so far, per collection."""
    counts: dict[str, float] = {}
    for metric in app.state.db_metrics.commands.collect():
        for sample in metric.samples:
            if sample.name == "murmur_db_commands_total":
                name = sample.labels["collection"]
                counts[name] = counts.get(name, 0) + sample.value
    return counts


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What ran in between (the outbox worker's own commands included)."""
    delta = {k: v - before.get(k, 0) for k, v in after.items()}
    return {k: v for k, v in delta.items() if v}


def quiet(app: Any) -> contextlib.AbstractAsyncContextManager[None]:
    """Hold the app's outbox worker still for a block (its idle polls are not the request's
    commands); nothing to hold where the app runs no worker."""
    outbox = app.state.services.outbox
    return outbox.paused() if outbox is not None else contextlib.nullcontext()
