"""Small per-process caches of relationship sets, so filtering a timeline or a live stream
never costs a database query per tweet.

Entries expire after ``ttl`` seconds: a change made through another app process is seen
within that bound; a change made through this one invalidates the entry at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict


class RelationCache:
    """user id -> frozenset of user ids (e.g. the authors a user must not see)."""

    def __init__(self, ttl: float = 30.0, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()

    def get(self, key: str) -> frozenset[str] | None:
        """The cached value, or None when missing or older than the TTL."""
        hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        self._entries.move_to_end(key)
        return hit[1]

    def put(self, key: str, value: frozenset[str]) -> None:
        """Cache ``value`` under ``key`` (the oldest entries go when full)."""
        self._entries[key] = (time.monotonic() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, *keys: str) -> None:
        """Drop these keys now (a block or mute changed)."""
        for key in keys:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Drop everything (after a Redis gap a change may have been missed)."""
        self._entries.clear()
