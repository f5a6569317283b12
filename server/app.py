"""The app factory: ``create_app(settings)`` builds Murmur; ``uvicorn --factory`` runs it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from realtime.redis_backend import connect_redis

from . import asyncapi, live, openapi, outbox, pages
from .db import Database, connect, ensure_indexes
from .dbmetrics import CommandMetrics
from .errors import exception_handlers
from .headers import SecurityHeaders
from .images import ImageProcessor
from .keys import Keys
from .likedcache import LikedCache
from .mail import Mailer
from .ratelimit import RateLimits
from .requestid import RequestId
from .routes import account, auth, meta, notifications, social, timeline, tweets, users, wstickets
from .routes import bookmarks as bookmark_routes
from .routes import conversations as conversation_routes
from .routes import media as media_routes
from .routes import moderation as moderation_routes
from .routes import oauth as oauth_routes
from .routes import pins as pin_routes
from .routes import reposts as repost_routes
from .routes import search as search_routes
from .routes import trending as trending_routes
from .routing import IndexedRouter
from .search.engine import choose_backend
from .security import AccessTokens, Passwords
from .services import Clock, Services, utc_now
from .settings import Settings
from .store import bookmarks as bookmark_store
from .store import reposts as repost_store
from .store import tweets as tweet_store
from .store.recent_redis import RecentIds
from .store.timelines import open_timelines
from .tweetcache import RedisTweetCache
from .webclient import ClientPages

log = logging.getLogger("murmur")

VERSION = "0.1.0"
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def api_routes() -> list[BaseRoute]:
    # Literal paths come before parameterised ones (/users/me before /users/{user_id}).
    return [
        *meta.router.routes,
        *auth.router.routes,
        *oauth_routes.router.routes,
        *account.router.routes,  # /users/me/... before /users/{user_id}
        *social.router.routes,  # /users/me/blocks before /users/{user_id}
        *bookmark_routes.router.routes,  # /users/me/bookmarks before /users/{user_id}
        *trending_routes.router.routes,  # /users/trending before /users/{user_id}
        *users.router.routes,
        *search_routes.router.routes,  # /tweets/search before /tweets/{tweet_id}
        *moderation_routes.router.routes,
        *timeline.router.routes,  # /tweets/following before /tweets/{tweet_id}
        *repost_routes.router.routes,
        *pin_routes.router.routes,
        *tweets.router.routes,
        *notifications.router.routes,
        *media_routes.router.routes,
        *conversation_routes.router.routes,
        *live.router.routes,  # /metrics, /admin/stats
        *wstickets.router.routes,
    ]


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> Starlette:
    """Build the ASGI app. Connections are opened in the lifespan, never at import time."""
    settings = settings or Settings()
    if not settings.mongodb_url:
        raise RuntimeError("MONGODB_URL is not set; start Murmur with `murmur serve`.")
    mongodb_url = settings.mongodb_url

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Every command is counted and timed for /metrics (server/dbmetrics.py).
        app.state.db_metrics = CommandMetrics()
        client = connect(mongodb_url, [app.state.db_metrics])
        try:
            app.state.services = await _open_services(settings, client[settings.mongodb_db], clock)
            log.info("Murmur ready (database %s)", settings.mongodb_db)
            # The realtime hub (/ws) and the outbox worker, which publishes through it.
            async with live.running(app, app.state.services):
                if not settings.run_worker:
                    yield
                else:
                    svc = app.state.services
                    async with outbox.running(svc):
                        yield
        finally:
            if hasattr(app.state, "services"):
                await app.state.services.limits.close()
                await app.state.services.timelines.close()
                if app.state.services.cache_redis is not None:
                    await app.state.services.cache_redis.aclose()
            await client.close()

    routes = api_routes()
    app = _App(
        routes=[
            *routes,
            *live.routes(),
            Route("/openapi.json", meta.openapi_json, methods=["GET"]),
            Route("/asyncapi.json", meta.asyncapi_json, methods=["GET"]),
            Route("/docs", meta.docs, methods=["GET"]),
            Mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static"),
            Route("/", _web_index, methods=["GET"]),
        ],
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        # Page loads of client routes (/@name, /tweets/<id>, ...) get web/index.html.
        middleware=[
            Middleware(SecurityHeaders, hsts=settings.public_base_url.startswith("https://")),
            Middleware(ClientPages),
        ],
        lifespan=lifespan,
    )
    app.state.openapi = openapi.build(routes, "Murmur", VERSION)
    app.state.asyncapi = asyncapi.build(settings.public_base_url, VERSION)
    return app


class _App(Starlette):
    def __init__(self, *, routes: list[BaseRoute], lifespan: Any, **kwargs: Any) -> None:
        super().__init__(routes=routes, lifespan=lifespan, **kwargs)
        self.router = IndexedRouter(routes, lifespan=lifespan)

    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's error middleware, so a 500 (and its log line) has the id too.
        return RequestId(super().build_middleware_stack())


async def _open_services(settings: Settings, db: Database, clock: Clock) -> Services:
    await ensure_indexes(db)
    await tweet_store.backfill_links(db)
    keys = Keys.derive(settings.resolved_jwt_secret())
    svc = Services(
        settings=settings,
        db=db,
        clock=clock,
        passwords=Passwords(
            settings.argon2_time_cost,
            settings.argon2_memory_cost_kib,
            settings.password_hash_concurrency,
        ),
        tokens=AccessTokens(
            keys.jwt, settings.jwt_issuer, settings.jwt_audience, settings.access_token_ttl_seconds
        ),
        keys=keys,
        mailer=Mailer(settings.mail_from, settings.smtp_url, settings.outbox_dir),
        limits=RateLimits(
            settings.redis_url,
            enabled=settings.rate_limits_enabled,
            prefix=f"murmur:{settings.mongodb_db}",
            cluster=settings.redis_cluster,
        ),
        timelines=open_timelines(settings, db),
        search_backend=await choose_backend(db, settings.search_backend),
        images=ImageProcessor(settings.media_decode_concurrency),
    )
    if settings.redis_url:
        # One client for the read caches (tweets, liked sets, recent ids).
        svc.cache_redis = connect_redis(settings.redis_url, cluster=settings.redis_cluster)
        prefix = f"murmur:{settings.mongodb_db}:"
        svc.tweet_cache = RedisTweetCache(svc.cache_redis, prefix=prefix)
        svc.liked = LikedCache(svc.cache_redis, prefix=prefix)
        svc.reposted, svc.bookmarked = (
            LikedCache(svc.cache_redis, prefix=prefix, kind=kind, among=among, listing=listing)
            for kind, among, listing in (
                ("reposted", repost_store.reposted_among, repost_store.reposted_by),
                ("bookmarked", bookmark_store.bookmarked_among, bookmark_store.bookmarked_by),
            )
        )
        svc.recent = RecentIds(svc.cache_redis, prefix=prefix, load=pages.recent_loader(db))
    return svc


async def _web_index(request: object) -> Response:
    return FileResponse(WEB_DIR / "index.html")


def app_from_env() -> Starlette:
    """Entry point for ``uvicorn --factory server.app:app_from_env``."""
    return create_app(Settings())
