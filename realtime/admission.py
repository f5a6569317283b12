"""Who may hold one more socket: a signed-in user up to ``max_sockets_per_user`` (on this
process, and across the cluster when Redis keeps the count, see ``usersockets.py``), and
sockets without a valid token up to ``max_anonymous_per_address`` per client address
(anonymous sockets cost memory and a fan-out slot each, and no account limit applies).
"""

from __future__ import annotations

from collections import Counter

from .connection import Connection
from .usersockets import UserSockets


class Admission:
    """The hub's socket counts; ``admit`` on connect, ``release`` on close."""

    def __init__(
        self, *, max_per_user: int, max_anonymous_per_address: int, cluster: UserSockets | None
    ) -> None:
        self.max_per_user = max_per_user
        self.max_anonymous_per_address = max_anonymous_per_address
        self.cluster = cluster
        self.sockets_per_user: Counter[str] = Counter()
        self.anonymous_per_address: Counter[str] = Counter()

    async def admit(self, conn: Connection) -> bool:
        """Count an accepted socket; False if its user (or address) already has too many."""
        if conn.user_id is not None:
            return await self.admit_user(conn, conn.user_id)
        if conn.address is not None:
            if self.anonymous_per_address[conn.address] >= self.max_anonymous_per_address:
                return False
            self.anonymous_per_address[conn.address] += 1
            conn.anonymous_counted = True
        return True

    async def admit_user(self, conn: Connection, user_id: str) -> bool:
        """Count one more socket for ``user_id`` (also for a socket signing in late)."""
        if self.sockets_per_user[user_id] >= self.max_per_user:
            return False
        if self.cluster is not None:
            allowed, conn.cluster_claim = await self.cluster.claim(user_id, self.max_per_user)
            if not allowed:
                return False
        self.sockets_per_user[user_id] += 1
        return True

    def release_anonymous(self, conn: Connection) -> None:
        """The socket no longer counts as anonymous (it closed, or signed in)."""
        if conn.anonymous_counted and conn.address is not None:
            conn.anonymous_counted = False
            _decrement(self.anonymous_per_address, conn.address)

    async def release(self, conn: Connection) -> None:
        """The socket closed: it no longer counts anywhere."""
        if conn.user_id is not None:
            _decrement(self.sockets_per_user, conn.user_id)
        self.release_anonymous(conn)
        if conn.cluster_claim is not None and self.cluster is not None:
            claim, conn.cluster_claim = conn.cluster_claim, None
            await self.cluster.release(claim)


def _decrement(counts: Counter[str], key: str) -> None:
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]
