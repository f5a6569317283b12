"""Helpers for tests that must touch every master of the test Redis Cluster."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.crc import key_slot

T = TypeVar("T")


async def on_every_master(
    make: Callable[[], Awaitable[T]], key: Callable[[T], str], cluster: Any, tries: int = 30
) -> tuple[list[T], list[T]]:
    """Make items until their keys (``key(item)``) sit on every master: one item per master,
    and every item made (ids are random, so which master a key lands on is not chosen)."""
    by_master: dict[int, T] = {}
    made: list[T] = []
    for _ in range(tries):
        item = await make()
        made.append(item)
        by_master.setdefault(cluster.master_of(key(item)).port, item)
        if len(by_master) == cluster.masters:
            return list(by_master.values()), made
    raise AssertionError(f"{tries} keys never reached all {cluster.masters} masters")


def same_slot(*keys: str) -> bool:
    """Whether ``keys`` hash to one slot (what a script touching them all needs)."""
    return len({key_slot(k.encode()) for k in keys}) == 1
