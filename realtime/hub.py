"""The hub: one broadcaster subscription per channel per process, fanned out to local sockets.

A published event is encoded once (``<id>|<author>|<event JSON>``), appended to the bounded
log of each replayable stream (which gives it its id) and published on one channel per
stream. Each process subscribes to a channel once, however many of its sockets want it,
turns each message into a frame once per client stream name, and pushes that same string
into every subscribed socket's bounded sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from broadcaster._backends.base import BroadcastBackend
from pydantic import BaseModel

from . import protocol
from .admission import Admission
from .channels import stream_kind, user_stream
from .connection import Connection, Subscription
from .gates import GateLimits, Gates, Overloaded
from .gcfreeze import GcFreezer
from .hidden import HiddenSets
from .listeners import Listeners
from .log import EPHEMERAL_KINDS, REPLAYABLE_KINDS, EventLog, IdClock
from .metrics import HubMetrics
from .publisher import Announcement, EventPublisher
from .redis_backend import GAP_CHANNEL, gap_channels
from .replay import SharedReads, recover, replay, resync
from .streams import StreamError, resolve
from .types import (
    AuthCache,
    Authenticate,
    AuthFailed,
    ForgetHidden,
    ForgetUsers,
    HiddenAuthors,
    Identity,
    Now,
    PullAuthors,
    StreamVisible,
    Typing,
)
from .usersockets import UserSockets

log = logging.getLogger("murmur.realtime")

CONTROL_CHANNEL = "murmur:control"
# Answers of ``authenticate`` that mean a socket's session is over (not "try later").
_SESSION_OVER = frozenset({"session_revoked", "account_suspended", "invalid_token"})


def users_changed_message(user_ids: list[str], counts_only: bool) -> str:
    """The control message that makes every process forget what it cached of these users
    (also sent by ``murmur make-admin``, which runs no hub)."""
    return json.dumps({"op": "users", "users": user_ids, "counts_only": counts_only})


@dataclass(frozen=True)
class HubLimits:
    max_frame_bytes: int = 16 * 1024
    max_subscriptions: int = 50
    max_sockets_per_user: int = 20
    # Sockets without a valid token, per client address: anonymous sockets cost memory and
    # a fan-out slot each, and no account limit applies to them.
    max_anonymous_per_address: int = 50
    subscribe_rate: float = 5.0  # per second, after a burst of ``subscribe_burst``
    subscribe_burst: int = 50
    frame_rate: float = 20.0  # client frames of any kind per second, after ``frame_burst``
    frame_burst: int = 100
    send_backlog: int = 256  # frames queued for a socket that is behind
    replay_max: int = 500  # more missed events than this: resync instead
    # Seconds a live event of a subscription merging several logs waits, so they go out in
    # id order: 0 where one clock gives every id (one Redis, or in-process); on a Redis
    # Cluster, above the shards' clock skew plus delivery time (connection.py:MergeHold).
    merge_hold: float = 0.0
    sweep_seconds: float = 5.0  # how often token expiry is checked
    gc_freeze: bool = True  # gc.freeze() after connect bursts (see gcfreeze.py)
    # Subscribe-time reads (visibility, pulled authors, blocks and mutes) in flight at once:
    # a connect storm queues here instead of piling onto the database and Redis.
    read_concurrency: int = 32
    # Typing frames: at most one per conversation per socket in this many seconds (more are
    # dropped without an answer; a client sends one per keystroke burst).
    # WS_TYPING_INTERVAL_SECONDS.
    typing_interval: float = 2.0
    # Connect-storm admission control: handshakes, token checks and resuming subscriptions
    # (``since``) run a bounded number at once, with a bounded wait (see gates.py).
    gates: GateLimits = GateLimits()


class Hub:
    """Murmur's realtime hub; implements the server's ``Publisher`` protocol."""

    def __init__(
        self,
        backend: BroadcastBackend,
        event_log: EventLog,
        *,
        authenticate: Authenticate,
        auth_cache: AuthCache | None = None,
        pull_authors: PullAuthors | None = None,
        hidden_authors: HiddenAuthors | None = None,
        forget_hidden: ForgetHidden | None = None,
        stream_visible: StreamVisible | None = None,
        user_sockets: UserSockets | None = None,
        forget_users: ForgetUsers | None = None,
        on_typing: Typing | None = None,
        limits: HubLimits | None = None,
        now: Now = time.time,
    ) -> None:
        self.backend = backend
        self.log = event_log
        self.replay_log = SharedReads(event_log)  # identical replays in flight: one read
        self.authenticate = authenticate
        self.auth_cache = auth_cache
        self.pull_authors = pull_authors
        self.forget_users = forget_users
        # Called when another process stored something for the outbox worker (this one's).
        self.on_outbox_write: Callable[[], None] | None = None
        self.on_typing = on_typing
        self.hidden = None if hidden_authors is None else HiddenSets(hidden_authors, forget_hidden)
        self.stream_visible = stream_visible
        self.limits = limits or HubLimits()
        self.now = now
        self.connections: set[Connection] = set()
        # Set by close_all: a socket whose handshake was still being answered then is closed
        # the same way as soon as it registers (not left to the server's own close code).
        self.going_away: tuple[int, str] | None = None
        self._joining = 0  # sockets inside add()
        self._none_joining = asyncio.Event()
        self.admission = Admission(
            max_per_user=self.limits.max_sockets_per_user,
            max_anonymous_per_address=self.limits.max_anonymous_per_address,
            cluster=user_sockets,
        )
        self._rechecks: set[asyncio.Task[None]] = set()
        self._ids = IdClock()
        self._tasks: list[asyncio.Task[None]] = []
        self.metrics = HubMetrics(lambda: len(self.connections), self.subscription_counts)
        self.publisher = EventPublisher(backend, event_log, self._ids, self.metrics)
        self.listeners = Listeners(backend, self.metrics)
        self.gc = GcFreezer()
        self._reads = asyncio.Semaphore(self.limits.read_concurrency)
        self.gates = Gates(self.limits.gates)
        self.metrics.watch_gates(self.gates.all())

    # --- lifecycle ---

    async def start(self) -> None:
        """Connect the backend and start the dispatch, sweep and control-channel tasks."""
        if self.admission.cluster is not None:
            self.admission.cluster.start()
        await self.backend.connect()
        await self.backend.subscribe(CONTROL_CHANNEL)
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="murmur-hub-dispatch"),
            asyncio.create_task(self._sweep(), name="murmur-hub-sweep"),
            asyncio.create_task(self._freeze_gc(), name="murmur-hub-gc"),
        ]

    async def stop(self) -> None:
        """Stop the tasks and disconnect; sockets are closed by ``close_all`` first."""
        await self.close_all(protocol.CLOSE_GOING_AWAY, "server shutting down")
        tasks = [*self._tasks, *self._rechecks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.admission.cluster is not None:
            await self.admission.cluster.stop()
        await self.backend.disconnect()

    async def close_all(self, code: int, reason: str) -> None:
        """Close every local socket (graceful shutdown sends 1001 so clients reconnect), and
        each one that registers from now on."""
        self.going_away = (code, reason)
        if self._joining:
            # Sockets accepted but still being admitted (a Redis claim) would otherwise
            # register after this and meet the server's own close (1012) instead.
            self._none_joining.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._none_joining.wait()
        conns = list(self.connections)
        for conn in conns:
            await self._close(conn, code, reason)
        closing = [c.closing for c in conns if c.closing is not None]
        if closing:
            await asyncio.wait(closing, timeout=2)

    # --- publishing (the server's Publisher) ---

    async def publish(
        self, streams: Sequence[str], event: BaseModel, once: str | None = None
    ) -> None:
        """Log and broadcast one event to ``streams`` (``once``: see ``EventPublisher``);
        never raises into the request."""
        await self.publisher.publish(streams, event, once)

    async def publish_many(self, events: Sequence[Announcement]) -> None:
        """``publish`` for several events at once (``EventPublisher.publish_many``)."""
        await self.publisher.publish_many(events)

    async def revoke_session(self, session_id: str) -> None:
        """Close the sockets of a revoked session, on every process."""
        message = json.dumps({"op": "revoke", "session_id": session_id})
        try:
            await self.backend.publish(CONTROL_CHANNEL, message)
        except Exception as exc:
            log.warning("revocation broadcast failed (%s); closing local sockets only", exc)
            await self._revoke_local(session_id)

    async def relations_changed(self, user_ids: list[str]) -> None:
        """A block or mute changed: re-read these users' hidden authors, on every process."""
        message = json.dumps({"op": "relations", "users": user_ids})
        try:
            await self.backend.publish(CONTROL_CHANNEL, message)
        except Exception as exc:
            log.warning("relations broadcast failed (%s); refreshing local sockets only", exc)
            await self._refresh_hidden(user_ids)

    async def users_changed(self, user_ids: list[str], counts_only: bool) -> None:
        """These users' documents changed: every process forgets what it cached of them."""
        message = users_changed_message(user_ids, counts_only)
        try:
            await self.backend.publish(CONTROL_CHANNEL, message)
        except Exception as exc:
            log.warning("user change broadcast failed (%s); forgetting locally only", exc)
            if self.forget_users is not None:
                self.forget_users(user_ids, counts_only)

    async def outbox_written(self) -> None:
        """Something was stored for the outbox worker: wake it, whichever process runs it
        (best effort: the worker also polls)."""
        with contextlib.suppress(Exception):
            await self.backend.publish(CONTROL_CHANNEL, '{"op": "outbox"}')

    # --- sockets ---

    def session_revoked(self, session_id: str) -> bool:
        """Whether this process has heard that ``session_id`` was revoked."""
        return self.auth_cache is not None and self.auth_cache.is_revoked(session_id)

    async def verify(self, token: str) -> Identity:
        """``authenticate``, a bounded number at once; raises ``Overloaded`` when too many
        wait (a connect storm), ``AuthFailed`` when the token is refused."""
        async with self.gates.auth.enter():
            return await self.authenticate(token)

    async def add(self, conn: Connection) -> bool:
        """Register an accepted socket; False if its user (or, anonymous, its address) already
        has too many."""
        self._joining += 1
        try:
            if not await self.admission.admit(conn):
                return False
            self.connections.add(conn)
            self.gc.opened()
            if self.going_away is not None:  # shutting down: this one goes elsewhere too
                await self._close(conn, *self.going_away)
                if conn.closing is not None:  # sent before the server's own close (1012)
                    await asyncio.wait([conn.closing], timeout=2)
        finally:
            self._joining -= 1
            if not self._joining:
                self._none_joining.set()
        return True

    async def remove(self, conn: Connection) -> None:
        """Forget a closed socket: its subscriptions, and channels nobody else here wants."""
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        self.gc.closed()
        conn.sender.cancel()
        await self.admission.release(conn)
        for sub in list(conn.subscriptions.values()):
            await self.listeners.detach(sub)
        conn.subscriptions.clear()

    async def subscribe(self, conn: Connection, stream: str, since: str | None) -> None:
        """Subscribe ``conn`` to ``stream``; replay from ``since`` if given. Sends the answer."""
        send = conn.sender.send_now
        if stream in conn.subscriptions:
            await send(protocol.subscribed(stream))
            return
        if len(conn.subscriptions) >= self.limits.max_subscriptions:
            limit = self.limits.max_subscriptions
            message = f"At most {limit} subscriptions per socket."
            await send(protocol.error(protocol.TOO_MANY_SUBSCRIPTIONS, message, stream))
            return
        if not conn.take_subscribe_token():
            message = "Too many subscribe frames; slow down."
            await send(protocol.error(protocol.RATE_LIMITED, message, stream))
            return
        user = None if conn.expired else conn.user_id
        try:
            channels = resolve(stream, user)
        except StreamError as exc:
            await send(protocol.error(exc.code, str(exc), stream))
            return
        replayable = stream_kind(channels[0]) in REPLAYABLE_KINDS
        if not (replayable and since is not None):
            await self._open(conn, stream, channels, user, None)
            return
        # Resuming (what every socket of a connect storm does): its reads, SUBSCRIBE and
        # replay run a bounded number at once, so live delivery keeps its turns.
        try:
            async with self.gates.replay.enter():
                await self._open(conn, stream, channels, user, since)
        except Overloaded as exc:
            frame, reason = protocol.try_later(exc.retry_after, stream)
            await send(frame)
            await self._close(conn, protocol.CLOSE_TRY_AGAIN, reason)

    async def _open(
        self, conn: Connection, stream: str, channels: list[str], user: str | None,
        since: str | None,
    ) -> None:  # fmt: skip
        """The rest of ``subscribe``: visibility, hidden authors, attach, answer, replay."""
        send = conn.sender.send_now
        replayable = stream_kind(channels[0]) in REPLAYABLE_KINDS
        if self.stream_visible is not None:
            async with self._reads:
                visible = await self.stream_visible(user, stream)
            if not visible:
                # REST's rule (a blocked reader gets 404 for the tweet), and the same answer
                # as for a stream that does not exist, so it confirms nothing.
                await send(protocol.error(protocol.UNKNOWN_STREAM, "No such stream.", stream))
                return
        if user is not None:
            async with self._reads:
                if stream == "home" and self.pull_authors is not None:
                    channels += [user_stream(a) for a in await self.pull_authors(user)]
                if self.hidden is not None:
                    conn.hidden = await self.hidden.of(user)
        sub = Subscription(conn, stream, channels, replayable, self._ids.next())
        logged = [c for c in channels if stream_kind(c) not in EPHEMERAL_KINDS]
        if replayable and self.limits.merge_hold > 0 and len(logged) > 1:
            sub.hold_live(self.limits.merge_hold)  # several shards' clocks
        if replayable and since is not None:
            sub.buffer = []  # live events wait while the backlog is replayed
        conn.subscriptions[stream] = sub
        for channel in channels:
            await self.listeners.attach(channel, sub)
        await send(protocol.subscribed(stream))
        if since is not None and sub.buffer is not None:
            await replay(sub, since, self.replay_log, self.limits.replay_max)
        # (Public streams keep no log: ``since`` means nothing there and is ignored.)

    async def unsubscribe(self, conn: Connection, stream: str) -> None:
        """End one subscription of ``conn`` and answer with ``unsubscribed`` (or an error)."""
        sub = conn.subscriptions.pop(stream, None)
        if sub is None:
            message = "Not subscribed to this stream."
            await conn.sender.send_now(protocol.error(protocol.NOT_SUBSCRIBED, message, stream))
            return
        await self.listeners.detach(sub)
        await conn.sender.send_now(protocol.unsubscribed(stream))

    async def typing(self, conn: Connection, conversation_id: str) -> None:
        """A ``typing`` frame: announce it to the conversation's other participants, at most
        once per ``typing_interval`` per conversation and socket (the rest are dropped)."""
        user = None if conn.expired else conn.user_id
        if user is None:
            message = "Sign in to send typing indicators."
            await conn.sender.send_now(protocol.error(protocol.UNAUTHORIZED, message))
            return
        now = time.monotonic()
        last = conn.typing_at.get(conversation_id)
        if self.on_typing is None or (
            last is not None and now - last < self.limits.typing_interval
        ):
            return
        if len(conn.typing_at) >= 64:  # bounded: forget old conversations
            conn.typing_at.clear()
        conn.typing_at[conversation_id] = now
        try:
            async with self._reads:
                await self.on_typing(user, conversation_id)
        except Exception:  # ephemeral: a lost indicator is not worth an error frame
            log.exception("typing indicator for %s failed", conversation_id)

    async def reauthenticate(self, conn: Connection, token: str) -> None:
        """``{"type": "auth"}``: a fresh token for the same user resumes paused streams."""
        try:
            identity = await self.verify(token)
        except AuthFailed as exc:
            await conn.sender.send_now(protocol.error(exc.code, exc.message))
            return
        except Overloaded as exc:  # the socket stays open: send auth again after retry_after
            message = f"The server is busy; send auth again in {exc.retry_after} s."
            frame = protocol.error(protocol.OVERLOADED, message, retry_after=exc.retry_after)
            await conn.sender.send_now(frame)
            return
        if conn.identity is not None and identity.user_id != conn.identity.user_id:
            message = "A socket cannot change users; open a new one."
            await conn.sender.send_now(protocol.error(protocol.FORBIDDEN, message))
            return
        if conn.identity is None:
            if not await self.admission.admit_user(conn, identity.user_id):
                await self._close(conn, protocol.CLOSE_POLICY, "too many sockets for this user")
                return
            self.admission.release_anonymous(conn)
            if self.hidden is not None:
                # Signed in after connecting anonymously: load who this user must not see.
                async with self._reads:
                    conn.hidden = await self.hidden.of(identity.user_id)
        conn.identity, conn.expired, conn.token = identity, False, token
        for sub in list(conn.subscriptions.values()):
            if sub.paused:
                sub.paused = False
                sub.buffer = []
                await replay(sub, sub.position(), self.replay_log, self.limits.replay_max)

    # --- the dispatch loop ---

    async def _dispatch(self) -> None:
        while True:
            event = await self.backend.next_published()
            try:
                if event.channel == GAP_CHANNEL:
                    await self._on_gap(gap_channels(event.message))
                elif event.channel == CONTROL_CHANNEL:
                    await self._on_control(event.message)
                else:
                    self.listeners.fan_out(event.channel, event.message)
            except Exception:
                log.exception("dispatching an event on %s failed", event.channel)

    async def _on_gap(self, lost: set[str] | None = None) -> None:
        """Redis came back: mark lost publishes, then replay or resync every subscription.
        With ``lost`` (a cluster shard came back, or its channels moved to a new master),
        only the subscriptions on those channels, and they resync: the new master may
        lack what the old one had not replicated, so a replay from its logs proves nothing."""
        if lost is not None:
            if CONTROL_CHANNEL in lost:
                await self._control_gap()
            if self.publisher.gapped:
                await self.publisher.flush_gaps()
            for conn in list(self.connections):
                for sub in list(conn.subscriptions.values()):
                    if not lost.isdisjoint(sub.channels):
                        resync(sub)
            return
        await self._control_gap()
        if self.publisher.gapped:
            await self.publisher.flush_gaps()
        subs = [sub for conn in list(self.connections) for sub in conn.subscriptions.values()]
        await recover(subs, self.replay_log, self.limits.replay_max)

    async def _control_gap(self) -> None:
        """Control messages may have been lost: forget cached sessions, blocks and mutes."""
        if self.auth_cache is not None:
            self.auth_cache.clear()  # a revocation may have been published meanwhile
            # ... and its broadcast is lost: ask again for every open socket's session.
            task = asyncio.create_task(self._recheck_sessions(), name="murmur-hub-recheck")
            self._rechecks.add(task)
            task.add_done_callback(self._rechecks.discard)
        await self._refresh_hidden(None)  # and blocks or mutes may have changed

    async def _on_control(self, message: str) -> None:
        command = json.loads(message)
        if command.get("op") == "revoke":
            await self._revoke_local(str(command.get("session_id")))
        elif command.get("op") == "relations":
            await self._refresh_hidden([str(u) for u in command.get("users", [])])
        elif command.get("op") == "outbox" and self.on_outbox_write is not None:
            self.on_outbox_write()
        elif command.get("op") == "users" and self.forget_users is not None:
            users = [str(u) for u in command.get("users", [])]
            self.forget_users(users, bool(command.get("counts_only")))

    async def _recheck_sessions(self) -> None:
        """Close the sockets whose session ended while the control channel was down."""

        async def check(conn: Connection) -> None:
            assert conn.token is not None
            try:
                await self.authenticate(conn.token)
            except AuthFailed as exc:
                if exc.code in _SESSION_OVER and conn in self.connections:
                    await self._close(conn, protocol.CLOSE_SESSION_REVOKED, exc.code)

        conns = [c for c in self.connections if c.identity is not None and c.token]
        await asyncio.gather(*(check(c) for c in conns))

    async def _revoke_local(self, session_id: str) -> None:
        if self.auth_cache is not None:
            self.auth_cache.revoked(session_id)
        for conn in list(self.connections):
            if conn.identity is not None and conn.identity.session_id == session_id:
                await self._close(conn, protocol.CLOSE_SESSION_REVOKED, "session revoked")

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        await self.remove(conn)
        if conn.close is not None:
            with contextlib.suppress(Exception):
                await conn.close(code, reason)

    # --- housekeeping ---

    async def _sweep(self) -> None:
        """Token expiry, for every socket, every few seconds. (Blocks and mutes are not polled:
        every change is broadcast, see ``relations_changed``; a Redis gap re-reads them all.)"""
        while True:
            await asyncio.sleep(self.limits.sweep_seconds)
            try:
                await self.check_expiry()
            except Exception:
                log.exception("hub sweep failed")

    async def _freeze_gc(self) -> None:
        while self.limits.gc_freeze:
            await asyncio.sleep(0.5)
            self.gc.tick(len(self.connections))

    async def check_expiry(self) -> None:
        """Pause private streams of sockets whose access token has expired."""
        now = self.now()
        for conn in list(self.connections):
            ident = conn.identity
            if ident is not None and not conn.expired and ident.expires_at <= now:
                await conn.expire()

    async def _refresh_hidden(self, user_ids: list[str] | None) -> None:
        if self.hidden is not None:
            await self.hidden.refresh(list(self.connections), user_ids)
        await self._recheck_streams(user_ids)

    async def _recheck_streams(self, user_ids: list[str] | None) -> None:
        """A block changed: drop the ``tweet:``/``user:`` streams REST would now refuse.

        (A reply on the blocker's tweet is by a third party, so filtering events by author
        alone would still deliver it.)
        """
        if self.stream_visible is None:
            return
        wanted = None if user_ids is None else set(user_ids)
        for conn in list(self.connections):
            user = conn.user_id
            if user is None or (wanted is not None and user not in wanted):
                continue
            for stream in [s for s in conn.subscriptions if stream_kind(s) in ("tweet", "user")]:
                async with self._reads:
                    visible = await self.stream_visible(user, stream)
                sub = conn.subscriptions.get(stream)
                if not visible and sub is not None:
                    del conn.subscriptions[stream]
                    await self.listeners.detach(sub)
                    await conn.sender.send_now(
                        protocol.error(protocol.UNKNOWN_STREAM, "No such stream.", stream)
                    )

    def subscription_counts(self) -> dict[str, int]:
        """Open subscriptions on this process by stream kind."""
        counts: Counter[str] = Counter()
        for conn in self.connections:
            for stream in conn.subscriptions:
                counts[stream_kind(stream)] += 1
        return dict(counts)

    def stats(self) -> dict[str, Any]:
        """This process's connections, users, channels and subscriptions (for /admin/stats)."""
        return {
            "connections": len(self.connections),
            "users": len(self.admission.sockets_per_user),
            "channels": len(self.listeners),
            "subscriptions": self.subscription_counts(),
        }
