"""Signed-in users' documents, kept per process so an authenticated request reads none.

An entry is dropped the moment its user changes anywhere: the process that made the change
drops it at once and broadcasts the user ids on the hub's control channel, and every process
drops them when the message arrives (``Services.users_changed``). Counter changes
(followers, following, tweets) only mark an entry's counts stale: the record still
authenticates (name, role, suspension are unchanged), and what shows the counts
(``GET /users/me``) reads it again. ``ttl`` bounds what a lost message could leave behind;
after a Redis gap everything is dropped.

A read that raced with a change must not store what it read: each user has an epoch, bumped
by every change, and ``put`` stores only when the epoch is still the one seen before reading.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from .store.users import UserRecord


@dataclass(slots=True)
class _Entry:
    fresh_until: float
    record: UserRecord
    counts_fresh: bool


class UserCache:
    """user id -> the user's record, bounded (least recently used goes first)."""

    def __init__(self, ttl: float = 300.0, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._epochs: dict[str, int] = {}
        self._generation = 0

    def epoch(self, user_id: str) -> tuple[int, int]:
        """What ``put`` must still see for a read started now to be stored."""
        return self._generation, self._epochs.get(user_id, 0)

    def get(self, user_id: str, *, counts: bool = False) -> UserRecord | None:
        """The cached record (None when missing, expired, or ``counts`` are asked and stale)."""
        entry = self._entries.get(user_id)
        if entry is None or entry.fresh_until < time.monotonic():
            return None
        if counts and not entry.counts_fresh:
            return None
        self._entries.move_to_end(user_id)
        return entry.record

    def put(self, record: UserRecord, seen: tuple[int, int]) -> None:
        """Store a record read after ``epoch(record.id)`` returned ``seen``."""
        if seen != self.epoch(record.id):
            return  # changed while it was being read: the next request reads it again
        self._entries[record.id] = _Entry(time.monotonic() + self.ttl, record, True)
        self._entries.move_to_end(record.id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, user_ids: list[str]) -> None:
        """These users changed (profile, role, suspension): drop them."""
        for user_id in user_ids:
            self._entries.pop(user_id, None)
            self._bump(user_id)

    def counts_changed(self, user_ids: list[str]) -> None:
        """These users' counters moved: their records still authenticate, counts are stale."""
        for user_id in user_ids:
            entry = self._entries.get(user_id)
            if entry is not None:
                entry.counts_fresh = False
            self._bump(user_id)

    def clear(self) -> None:
        """Drop everything (a change may have been missed)."""
        self._entries.clear()
        self._epochs.clear()
        self._generation += 1

    def _bump(self, user_id: str) -> None:
        if len(self._epochs) >= self.max_entries:
            # Forgetting epochs could let a racing read store a stale record: start over.
            self.clear()
        self._epochs[user_id] = self._epochs.get(user_id, 0) + 1
