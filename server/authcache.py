"""Authenticating requests and WebSocket connects cheaply: per-process caches that every
revocation and user change invalidates at once, on every process.

Checking a token would otherwise cost a JWT decode and two database reads (the session, the
user) on every request and every connect, and a connect storm (every client of a restarted
process reconnecting at once) would send them all at the same moment. Instead:

- a verified token's claims are remembered per token string (the same string needs no second
  signature check; expiry is checked on every use, against the app's clock);
- "session active" is remembered per session for ``ttl`` seconds (5 minutes: a storm of
  reconnects needs no reads), and forgotten at once when a revocation is heard: the
  revoking process drops it before it answers, and every process when the control message
  arrives (sign-out, refresh-token reuse and suspension all revoke sessions), or everything
  after a Redis gap (a revocation may have been missed then); only a lost revocation relies
  on the expiry;
- the user's record ("account present and not suspended", and what REST handlers read from
  the caller) comes from ``UserCache`` (``server/usercache.py``), dropped on every profile,
  role or suspension change the same way;
- what is not cached is read by a few workers (``concurrency``) from one queue, each
  (session, user) once however many requests or sockets are waiting: a connect storm reaches
  the database as a steady trickle of reads, not a thundering herd.

Revoked sessions are remembered as revoked (a session never comes back), so a read that raced
with the revocation cannot let the session in or cache it as active. So a warm authenticated
REST request, like a warm connect, costs no database round trip.
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
from .store.users import UserRecord
from .usercache import UserCache

_Result = ApiError | UserRecord


log = logging.getLogger("murmur.authcache")


class Authenticator:
    """Checks access tokens for REST (``caller``) and for the hub (``__call__``); also the
    auth cache the hub invalidates (``revoked``, ``clear``, ``is_revoked``)."""

    def __init__(
        self, svc: Services, *, ttl: float = 300.0, max_entries: int = 200_000, concurrency: int = 8
    ) -> None:
        self.svc = svc
        self.ttl = ttl
        self.max_entries = max_entries
        self.concurrency = concurrency
        self.loads = 0  # (session, user) pairs read from the database (for tests)
        self.users = UserCache(ttl=ttl, max_entries=max_entries)
        self._claims: dict[str, AccessClaims] = {}
        self._sessions: dict[str, tuple[float, str]] = {}  # session -> (fresh until, user)
        self._revoked: OrderedDict[str, None] = OrderedDict()
        self._waiting: dict[tuple[str, str], asyncio.Future[_Result]] = {}
        self._queue: deque[tuple[str, str]] = deque()
        self._workers: set[asyncio.Task[None]] = set()
        self._running = 0
        self._generation = 0

    async def __call__(self, token: str) -> Identity:
        """The hub's ``authenticate``: who a socket belongs to."""
        try:
            claims = self._verify(token)
            await self._check(claims.session_id, claims.user_id)
        except ApiError as exc:
            raise AuthFailed(exc.code, exc.message) from exc
        return Identity(claims.user_id, claims.session_id, claims.expires_at.timestamp())

    async def caller(self, token: str) -> tuple[UserRecord, str]:
        """A REST request's user and session; raises the API error that refuses it."""
        claims = self._verify(token)
        user = await self._check(claims.session_id, claims.user_id)
        return user, claims.session_id

    async def fresh_counts(self, user: UserRecord) -> UserRecord:
        """``user`` with counters as stored (read again only if they moved since cached)."""
        return await self.user(user.id) or user

    async def user(self, user_id: str, *, counts: bool = True) -> UserRecord | None:
        """Anyone's record, with current counters unless ``counts`` is False (a profile
        needs them, the other end of a follow does not): cached, or read and cached."""
        cached = self.users.get(user_id, counts=counts)
        if cached is not None:
            return cached
        seen = self.users.epoch(user_id)
        record = await user_store.by_id(self.svc.db, user_id=user_id)
        if record is not None:
            self.users.put(record, seen)
        return record

    # --- invalidation (called by the hub, and locally by the process that made the change) ---

    def revoked(self, session_id: str) -> None:
        """The session was revoked (control message): refuse it from now on."""
        self._sessions.pop(session_id, None)
        self._revoked[session_id] = None
        if len(self._revoked) > self.max_entries:
            self._revoked.popitem(last=False)

    def users_changed(self, user_ids: list[str], *, counts_only: bool) -> None:
        """These users' documents changed: drop them (or only mark their counts stale)."""
        if counts_only:
            self.users.counts_changed(user_ids)
        else:
            self.users.forget(user_ids)

    def clear(self) -> None:
        """Forget every cached session and user (a control message may have been lost)."""
        self._sessions.clear()
        self.users.clear()
        self._generation += 1

    def is_revoked(self, session_id: str) -> bool:
        """Whether this process has heard that the session was revoked."""
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

    def _session_fresh(self, session_id: str, user_id: str) -> bool:
        cached = self._sessions.get(session_id)
        return cached is not None and cached[0] > time.monotonic() and cached[1] == user_id

    async def _check(self, session_id: str, user_id: str) -> UserRecord:
        if session_id in self._revoked:
            raise _revoked_error()
        if self._session_fresh(session_id, user_id):
            user = self.users.get(user_id)
            if user is not None and not user.suspended:
                return user
        key = (session_id, user_id)
        future = self._waiting.get(key)  # the same session asking twice: one read
        if future is None:
            future = self._waiting[key] = asyncio.get_running_loop().create_future()
            self._queue.append(key)
            if self._running < self.concurrency:
                self._running += 1
                worker = asyncio.create_task(self._work(), name="murmur-auth")
                self._workers.add(worker)  # a reference, so the task is not collected
                worker.add_done_callback(self._workers.discard)
        result = await asyncio.shield(future)
        if isinstance(result, ApiError):
            raise result
        return result

    async def _work(self) -> None:
        """Check queued sessions, a few at a time, until none are left."""
        try:
            while self._queue:
                key = self._queue.popleft()
                result: _Result
                try:
                    result = await self._read(*key)
                except Exception:  # the database is away: fail this request only
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

    async def _read(self, session_id: str, user_id: str) -> _Result:
        # One query per session and user, not one ``$in`` for many: the embedded database
        # (SecantusDB) scans the collection for ``$in``, but finds one ``_id`` by its index.
        generation = self._generation
        seen = self.users.epoch(user_id)
        self.loads += 1
        db = self.svc.db
        session_fresh = self._session_fresh(session_id, user_id)
        if not session_fresh and not await session_store.session_active(db, session_id=session_id):
            return _revoked_error()
        user = self.users.get(user_id)
        if user is None:
            user = await user_store.by_id(db, user_id=user_id)
            if user is None:
                return Unauthorized("The account no longer exists.", code="invalid_token")
            self.users.put(user, seen)
        if user.suspended:
            return Forbidden("This account is suspended.", code="account_suspended")
        if session_id in self._revoked:  # revoked while we were reading
            return _revoked_error()
        if generation == self._generation and not session_fresh:
            if len(self._sessions) >= self.max_entries:
                self._sessions.clear()
            self._sessions[session_id] = (time.monotonic() + self.ttl, user_id)
        return user


def _revoked_error() -> ApiError:
    return Unauthorized("This session has ended; sign in again.", code="session_revoked")
