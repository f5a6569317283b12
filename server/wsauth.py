"""Authenticating WebSocket connects cheaply, thousands at a time.

A connect storm (every client of a restarted process reconnecting at once) would otherwise
cost a JWT decode and two database reads per socket, all at the same moment. Instead:

- a verified token's claims are remembered per token string (the same string needs no second
  signature check; expiry is checked on every use, against the app's clock);
- "session active, account present and not suspended" is remembered per session for ``ttl``
  seconds (5 minutes: a storm of reconnects needs no reads), and forgotten at once when the
  hub hears the revocation control message that every process receives (sign-out,
  refresh-token reuse and suspension all revoke sessions), or entirely after a Redis gap (a
  revocation may have been missed then); only a lost revocation relies on the expiry;
- sessions not in the cache are checked by a few workers (``concurrency``) from one queue,
  each session once however many of its sockets are waiting: a connect storm reaches the
  database as a steady trickle of reads, not a thundering herd.

Revoked sessions are remembered as revoked (a session never comes back), so a read that raced
with the revocation arrived cannot let the session in or cache it as active.
REST requests keep using ``accounts.authenticate`` (a fresh read every time).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque

from realtime.types import AuthFailed, Identity

from .errors import ApiError, Forbidden, Unauthorized, Unavailable
from .security import AccessClaims
from .services import Services
from .store import sessions as session_store
from .store import users as user_store

log = logging.getLogger("murmur.wsauth")


class SocketAuth:
    """The hub's ``authenticate`` callable, and the auth cache the hub invalidates."""

    def __init__(
        self, svc: Services, *, ttl: float = 300.0, max_entries: int = 200_000, concurrency: int = 8
    ) -> None:
        self.svc = svc
        self.ttl = ttl
        self.max_entries = max_entries
        self.concurrency = concurrency
        self.loads = 0  # sessions read from the database (for tests)
        self._claims: dict[str, AccessClaims] = {}
        self._sessions: dict[str, tuple[float, str]] = {}  # session -> (fresh until, user)
        self._revoked: OrderedDict[str, None] = OrderedDict()
        self._waiting: dict[tuple[str, str], asyncio.Future[ApiError | None]] = {}
        self._queue: deque[tuple[str, str]] = deque()
        self._workers: set[asyncio.Task[None]] = set()
        self._running = 0
        self._generation = 0

    async def __call__(self, token: str) -> Identity:
        try:
            claims = self._verify(token)
            await self._check(claims.session_id, claims.user_id)
        except ApiError as exc:
            raise AuthFailed(exc.code, exc.message) from exc
        return Identity(claims.user_id, claims.session_id, claims.expires_at.timestamp())

    # --- invalidation (called by the hub) ---

    def revoked(self, session_id: str) -> None:
        """The session was revoked (control message): refuse it from now on."""
        self._sessions.pop(session_id, None)
        self._revoked[session_id] = None
        if len(self._revoked) > self.max_entries:
            self._revoked.popitem(last=False)

    def clear(self) -> None:
        """Forget every cached session (a revocation message may have been lost)."""
        self._sessions.clear()
        self._generation += 1

    def is_revoked(self, session_id: str) -> bool:
        return session_id in self._revoked

    # --- the checks ---

    def _verify(self, token: str) -> AccessClaims:
        now = self.svc.clock()
        claims = self._claims.get(token)
        if claims is None:
            claims = self.svc.tokens.verify(token, now)
            if len(self._claims) >= self.max_entries:
                self._claims.clear()
            self._claims[token] = claims
        elif claims.expires_at <= now:
            raise Unauthorized("The access token has expired.", code="token_expired")
        return claims

    async def _check(self, session_id: str, user_id: str) -> None:
        if session_id in self._revoked:
            raise _revoked_error()
        cached = self._sessions.get(session_id)
        if cached is not None and cached[0] > time.monotonic() and cached[1] == user_id:
            return
        key = (session_id, user_id)
        future = self._waiting.get(key)  # the same session connecting twice: one read
        if future is None:
            future = self._waiting[key] = asyncio.get_running_loop().create_future()
            self._queue.append(key)
            if self._running < self.concurrency:
                self._running += 1
                worker = asyncio.create_task(self._work(), name="murmur-ws-auth")
                self._workers.add(worker)  # a reference, so the task is not collected
                worker.add_done_callback(self._workers.discard)
        error = await asyncio.shield(future)
        if error is not None:
            raise error

    async def _work(self) -> None:
        """Check queued sessions, a few at a time, until none are left."""
        try:
            while self._queue:
                key = self._queue.popleft()
                result: ApiError | None
                try:
                    result = await self._read(*key)
                except Exception:  # the database is away: fail this connect only
                    # Logged here; the client gets no internal detail (hosts, driver text).
                    log.exception("checking session %s failed", key[0])
                    message = "Cannot check the session now; try again shortly."
                    result = Unavailable(message, code="unavailable")
                future = self._waiting.pop(key)
                if not future.done():
                    future.set_result(result)
        finally:
            # Counted down in the same step as the queue was seen empty: a task that is done
            # but not yet discarded (its callbacks run later) must not stop a new worker.
            self._running -= 1

    async def _read(self, session_id: str, user_id: str) -> ApiError | None:
        # One query per session and user, not one ``$in`` for many: the embedded database
        # (SecantusDB) scans the collection for ``$in``, but finds one ``_id`` by its index.
        generation = self._generation
        self.loads += 1
        db = self.svc.db
        if not await session_store.session_active(db, session_id=session_id):
            return _revoked_error()
        user = await user_store.by_id(db, user_id=user_id)
        if user is None:
            return Unauthorized("The account no longer exists.", code="invalid_token")
        if user.suspended:
            return Forbidden("This account is suspended.", code="account_suspended")
        if session_id in self._revoked:  # revoked while we were reading
            return _revoked_error()
        if generation == self._generation:
            if len(self._sessions) >= self.max_entries:
                self._sessions.clear()
            self._sessions[session_id] = (time.monotonic() + self.ttl, user_id)
        return None


def _revoked_error() -> ApiError:
    return Unauthorized("This session has ended; sign in again.", code="session_revoked")
