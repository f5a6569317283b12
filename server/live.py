"""Wiring the realtime hub into the app: /ws, /metrics, /admin/stats, and the lifespan.

``realtime/`` never imports ``server/``; this module hands it what it needs (token checks,
pulled authors, blocks and mutes) as callables.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from broadcaster._backends.memory import MemoryBackend
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute

from realtime.clusterlog import ClusterLog
from realtime.endpoint import Endpoint
from realtime.gates import GateLimits
from realtime.hub import Hub, HubLimits
from realtime.log import MemoryLog, RedisLog
from realtime.metrics import CONTENT_TYPE
from realtime.protocol import CLOSE_GOING_AWAY
from realtime.redis_backend import RedisBackend
from realtime.shardpubsub import ClusterBackend
from realtime.stats import Reporter, summary
from realtime.usersockets import UserSockets

from . import accounts, conversations, social, tweets, wstickets
from .api import Router
from .authcache import Authenticator
from .errors import Forbidden, NotFound, Unauthorized
from .http import json_response
from .models import AdminStats
from .services import Services
from .settings import Settings


def limits(settings: Settings) -> HubLimits:
    return HubLimits(
        max_frame_bytes=settings.ws_max_frame_bytes,
        max_subscriptions=settings.ws_max_subscriptions,
        max_sockets_per_user=settings.ws_max_sockets_per_user,
        max_anonymous_per_address=settings.ws_max_anonymous_per_address,
        subscribe_rate=settings.ws_subscribe_rate,
        subscribe_burst=settings.ws_subscribe_burst,
        frame_rate=settings.ws_frame_rate,
        frame_burst=settings.ws_frame_burst,
        send_backlog=settings.ws_send_backlog,
        replay_max=settings.ws_replay_max,
        # Only a cluster's logs take ids from several clocks (one per shard).
        merge_hold=settings.ws_merge_hold_ms / 1000 if settings.redis_cluster else 0.0,
        sweep_seconds=settings.ws_sweep_seconds,
        gc_freeze=settings.ws_gc_freeze,
        typing_interval=settings.ws_typing_interval_seconds,
        gates=GateLimits(
            handshake_concurrency=settings.ws_handshake_concurrency,
            handshake_queue=settings.ws_handshake_queue,
            auth_concurrency=settings.ws_auth_concurrency,
            auth_queue=settings.ws_auth_queue,
            replay_concurrency=settings.ws_replay_concurrency,
            replay_queue=settings.ws_replay_queue,
            retry_after=settings.ws_retry_after_seconds,
            max_wait=settings.ws_admission_max_wait_seconds,
        ),
    )


def build_hub(svc: Services) -> Hub:
    """The hub for these services: Redis when ``REDIS_URL`` is set, else in-process."""
    settings = svc.settings

    # Token checks with per-process caches that revocations and user changes invalidate,
    # for connects and REST requests alike (authcache.py).
    authenticate = Authenticator(svc)

    async def pull_authors(user_id: str) -> list[str]:
        return await social.pull_authors_followed(svc, user_id)

    async def hidden_authors(user_id: str) -> frozenset[str]:
        return await social.hidden_authors(svc, user_id)

    def forget_hidden(user_ids: list[str] | None) -> None:
        if user_ids is None:
            svc.social_cache.clear()
        else:
            keys = [f"{kind}:{u}" for u in user_ids for kind in ("hidden", "blocks")]
            svc.social_cache.invalidate(*keys)

    async def stream_visible(user_id: str | None, stream: str) -> bool:
        """REST's visibility on a stream: a tweet or a user a block hides answers 404 there."""
        kind, _, key = stream.partition(":")
        if kind not in ("tweet", "user"):
            return True
        blocked = await social.blocked_authors(svc, user_id) if user_id else frozenset()
        if kind == "user":
            return key not in blocked
        try:
            tweet = await tweets.get(svc, key)
        except NotFound:  # missing, or hidden by a moderator
            return False
        return tweet.user_id not in blocked

    async def on_typing(user_id: str, conversation_id: str) -> None:
        try:
            await conversations.typing(svc, user_id, conversation_id)
        except NotFound:
            pass  # not a member: nothing is sent, and nothing is said

    backend: Any
    user_sockets = None
    if settings.redis_url and settings.redis_cluster:
        # Sharded pub/sub and per-stream logs whose keys share their stream's slot.
        backend = ClusterBackend(settings.redis_url)
        event_log: Any = ClusterLog(
            backend.publisher, settings.ws_log_max_entries, settings.ws_log_ttl_seconds
        )
    elif settings.redis_url:
        backend = RedisBackend(settings.redis_url)
        event_log = RedisLog(
            backend.publisher, settings.ws_log_max_entries, settings.ws_log_ttl_seconds
        )
    else:
        backend = MemoryBackend("memory://")
        event_log = MemoryLog(settings.ws_log_max_entries)
    if settings.redis_url:
        prefix = f"murmur:{settings.mongodb_db}:ws:user:"
        user_sockets = UserSockets(backend.publisher, prefix=prefix)
    return Hub(
        backend,
        event_log,
        authenticate=authenticate,
        auth_cache=authenticate,
        pull_authors=pull_authors,
        hidden_authors=hidden_authors,
        forget_hidden=forget_hidden,
        stream_visible=stream_visible,
        user_sockets=user_sockets,
        forget_users=lambda ids, counts: forget_users(svc, authenticate, ids, counts),
        on_typing=on_typing,
        limits=limits(settings),
        now=lambda: svc.clock().timestamp(),
    )


def forget_users(svc: Services, auth: Authenticator, user_ids: list[str], counts: bool) -> None:
    """A control message: these users changed (``counts``: only their counters, as a follow
    or an unfollow moves them), so this process forgets what it cached of them."""
    auth.users_changed(user_ids, counts_only=counts)
    social.forget_follows(svc, user_ids)


@contextlib.asynccontextmanager
async def running(app: Any, svc: Services) -> AsyncIterator[Hub]:
    """Start the hub for the app's lifetime and plug it into the services."""
    hub = build_hub(svc)
    await hub.start()
    redis = getattr(hub.backend, "publisher", None)
    # `murmur worker` marks its app worker-only; a web process may run the worker too.
    web = not getattr(app.state, "worker_only", False)
    role = "+".join(r for r, on in (("web", web), ("worker", svc.settings.run_worker)) if on)
    reporter = Reporter(hub, redis, role=role)
    reporter.start()

    async def redeem(ticket: str) -> str | None:
        return await wstickets.redeem(svc, ticket)

    endpoint = Endpoint(hub, redeem_ticket=redeem)
    app.state.hub, app.state.ws_endpoint, app.state.stats = hub, endpoint, reporter
    auth: Authenticator = hub.authenticate  # type: ignore[assignment]

    # The process that makes a change forgets it at once (its next request must not see the
    # old state), then tells every process (itself again, harmlessly).
    async def session_revoked(session_id: str) -> None:
        auth.revoked(session_id)
        await hub.revoke_session(session_id)

    async def users_changed(user_ids: list[str], counts_only: bool) -> None:
        forget_users(svc, auth, user_ids, counts_only)
        await hub.users_changed(user_ids, counts_only)

    svc.events, svc.auth = hub, auth
    svc.on_session_revoked, svc.on_users_changed = session_revoked, users_changed
    svc.on_relations_changed = hub.relations_changed
    # The outbox worker may run in another process (`murmur worker`, or `murmur serve`'s
    # child): writes here wake it through the hub, and it hears of them there.
    pokes = WritePokes(hub)
    svc.on_written = pokes.poke
    hub.on_outbox_write = lambda: svc.outbox.poke() if svc.outbox is not None else None
    try:
        yield hub
    finally:
        svc.events = svc.on_session_revoked = svc.on_relations_changed = None
        svc.auth, svc.on_users_changed, svc.on_written = None, None, None
        await pokes.stop()
        await reporter.stop()
        await hub.stop()


class WritePokes:
    """Wakes the outbox worker of another process after writes: one control message at a
    time, at most every ``EVERY`` seconds however many writes (the worker takes all that is
    pending when it wakes)."""

    EVERY = 0.02

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._wanted.set()
        if self._task is None:
            self._task = asyncio.create_task(self._send(), name="murmur-outbox-pokes")

    async def _send(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            await self.hub.outbox_written()
            await asyncio.sleep(self.EVERY)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class _WebSocketApp:
    # A plain ASGI callable (not a function), so Starlette routes to it without wrapping.
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await scope["app"].state.ws_endpoint(scope, receive, send)


router = Router("operators")


@router.get(
    "/metrics",
    "Prometheus metrics of this process (text exposition format; keep it behind the network)",
)
async def metrics(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    body = hub.metrics.render() + request.app.state.db_metrics.render()
    return Response(body, media_type=CONTENT_TYPE)


@router.get(
    "/admin/stats",
    "Live connections of this process and of every process (an admin, or ADMIN_TOKEN)",
    response=AdminStats,
    auth=True,
    errors=(403,),
)
async def admin_stats(request: Request) -> Response:
    """This process and the whole cluster: connections, subscriptions, events per second."""
    svc: Services = request.app.state.services
    await _require_admin(svc, accounts.bearer_token(request))
    reporter: Reporter = request.app.state.stats
    processes = await reporter.cluster()
    stats = AdminStats.model_validate(
        {"process": reporter.snapshot(), "cluster": summary(processes), "processes": processes}
    )
    return json_response(stats)


async def _require_admin(svc: Services, token: str | None) -> None:
    if token is None:
        raise Unauthorized("Sign in as an admin, or use the admin token.")
    admin_token = svc.settings.admin_token
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return
    caller = await accounts.authenticate(svc, token)
    if caller.user.role != "admin":
        raise Forbidden("Admins only.", code="admin_only")


class _Server(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn would close WebSockets with 1012; close ours first with 1001 ("going
        # away": reconnect, to another process) and let the frames leave. Stop accepting
        # first (as uvicorn's own shutdown would next): a client reconnecting at once must
        # not land on this process again, only to be closed with 1012.
        for server in self.servers:
            server.close()
        app: Any = self.config.app
        hub: Hub | None = getattr(app.state, "hub", None)
        if hub is not None:
            await hub.close_all(CLOSE_GOING_AWAY, "server shutting down")
        await super().shutdown(sockets)


def run(app: Any, settings: Settings, **uvicorn_options: Any) -> None:
    """Serve ``app`` with uvicorn's sansio WebSockets, heartbeats and frame limit."""
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        # Transport-level heartbeat: ping every interval; no pong within it closes the socket.
        ws_ping_interval=settings.ws_heartbeat_seconds,
        ws_ping_timeout=settings.ws_heartbeat_seconds,
        # A hard cap well above the protocol's limit (which answers with an error frame).
        ws_max_size=max(4 * settings.ws_max_frame_bytes, 64 * 1024),
        **uvicorn_options,
    )
    _Server(config).run()


def routes() -> list[BaseRoute]:
    """``/ws`` (described by ``/asyncapi.json``); the operator routes are in ``router``."""
    return [WebSocketRoute("/ws", _WebSocketApp())]
