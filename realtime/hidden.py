"""Which authors each user must not see (blocks either way, mutes), as this process knows them.

Every block or mute change is broadcast on the control channel (``Hub.relations_changed``),
so an entry stays true until that message names its user; after a Redis gap everything is
forgotten. A connect storm therefore reads nothing for users this process has seen; the age
limit only bounds a change whose broadcast was lost.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from .connection import Connection
from .types import ForgetHidden, HiddenAuthors


class HiddenSets:
    """``await hidden.of(user)``; ``hidden.forget(users)`` when a change is broadcast."""

    def __init__(
        self,
        read: HiddenAuthors,
        forget_upstream: ForgetHidden | None = None,
        *,
        max_users: int = 100_000,
        max_age: float = 600.0,
    ) -> None:
        self._read = read
        self._forget_upstream = forget_upstream  # the server's own cache of the same sets
        self.max_users = max_users
        self.max_age = max_age
        self._known: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()
        self._generation = 0

    async def of(self, user: str) -> frozenset[str]:
        """``user``'s hidden authors, read only when this process does not know them."""
        known = self._known.get(user)
        if known is not None and known[0] > time.monotonic():
            return known[1]
        generation = self._generation
        hidden = await self._read(user)
        if generation == self._generation:  # no change was broadcast during the read
            self._known[user] = (time.monotonic() + self.max_age, hidden)
            self._known.move_to_end(user)
            if len(self._known) > self.max_users:
                self._known.popitem(last=False)
        return hidden

    async def refresh(self, connections: list[Connection], user_ids: list[str] | None) -> None:
        """Forget, then re-read the sets of these users' sockets (None: of every socket)."""
        self.forget(user_ids)
        wanted = None if user_ids is None else set(user_ids)
        fresh: dict[str, frozenset[str]] = {}  # once per user, however many sockets they hold
        for conn in connections:
            user = conn.user_id
            if user is not None and conn.subscriptions and (wanted is None or user in wanted):
                if user not in fresh:
                    fresh[user] = await self.of(user)
                conn.hidden = fresh[user]

    def forget(self, user_ids: list[str] | None) -> None:
        """These users' sets changed (None: anyone's may have): read them again when asked."""
        if self._forget_upstream is not None:
            self._forget_upstream(user_ids)
        self._generation += 1
        if user_ids is None:
            self._known.clear()
        for user in user_ids or ():
            self._known.pop(user, None)
