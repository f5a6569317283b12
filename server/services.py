"""Everything a request handler needs, built once in the lifespan and kept on ``app.state``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from .batching import Batches
from .db import Database
from .events import Announcement, Publisher, _Event
from .images import ImageProcessor
from .keys import Keys
from .likedcache import LikedCache
from .mail import Mailer
from .ratelimit import RateLimits
from .readpref import ReadKind, readers
from .relcache import RelationCache
from .security import AccessTokens, Passwords
from .settings import Settings
from .store.group_insert import GroupInserts
from .store.latest import Reach
from .store.recent_redis import RecentIds
from .store.search import Backend
from .store.timelines import TimelineStore
from .tweetcache import MemoryTweetCache, TweetCache

if TYPE_CHECKING:
    from .authcache import Authenticator
    from .outbox import Outbox

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, in UTC, at the millisecond precision MongoDB stores."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    passwords: Passwords
    tokens: AccessTokens
    keys: Keys  # one per job, derived from JWT_SECRET (server/keys.py)
    mailer: Mailer
    limits: RateLimits
    # Stored home timelines (server/store/timelines.py): Redis or MongoDB, chosen at start-up.
    timelines: TimelineStore
    # Called after a session is revoked (the realtime hub closes that session's sockets).
    on_session_revoked: Callable[[str], Awaitable[None]] | None = None
    # Called after users' documents change (True: only counters): every process forgets what
    # it cached of them (server/usercache.py). Use ``users_changed``.
    on_users_changed: Callable[[list[str], bool], Awaitable[None]] | None = None
    # Cached token, session and user checks (server/authcache.py), set with the hub.
    auth: Authenticator | None = None
    # Called after a block or mute changes (the hub re-reads those users' hidden authors on
    # every process).
    on_relations_changed: Callable[[list[str]], Awaitable[None]] | None = None
    # Where events go; the realtime hub's publisher, set in the lifespan.
    events: Publisher | None = None
    # Which search back-end the start-up probe chose (server/search/engine.py).
    search_backend: Backend = "keyword"
    # Social graph (issue 3): cached block/mute sets (server/social.py).
    social_cache: RelationCache = field(default_factory=RelationCache)
    # The outbox worker (server/outbox.py) when this process runs one (RUN_WORKER).
    outbox: Outbox | None = None
    # Otherwise: tells the process that runs it (server/live.py, through the hub).
    on_written: Callable[[], None] | None = None
    # Called after tweets' documents change: every process forgets what it cached of them.
    on_tweets_changed: Callable[[list[str]], Awaitable[None]] | None = None
    # How far back one page of GET /tweets reaches, learned (server/store/latest.py).
    public_reach: Reach = field(default_factory=Reach)
    # Tweets by id (server/tweetcache.py): Redis when REDIS_URL is set, else in-process.
    tweet_cache: TweetCache = field(default_factory=MemoryTweetCache)
    # The Redis client of the read caches (None without Redis), closed in the lifespan.
    cache_redis: Redis | None = None
    # Recent tweet ids per author and of everyone (server/store/recent_redis.py; Redis only).
    recent: RecentIds | None = None
    # Each reader's liked tweet ids (server/likedcache.py; Redis only).
    liked: LikedCache | None = None
    reposted: LikedCache | None = None
    bookmarked: LikedCache | None = None
    # Decodes and re-encodes uploaded images in worker threads (server/images.py).
    images: ImageProcessor = field(default_factory=lambda: ImageProcessor(1))
    # Concurrent inserts of new tweets sent together (server/store/group_insert.py).
    inserts: GroupInserts = field(default_factory=GroupInserts)
    # Concurrent requests' announcements of what they stored, sent together
    # (server/batching.py; server/tweets.py:announce_own).
    batches: Batches = field(default_factory=lambda: Batches(max_batch=64, in_flight=2))
    # A database handle per kind of read that may go to a secondary (server/readpref.py).
    readers: dict[ReadKind, Database] = field(init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        self.readers = readers(
            self.db, settings.mongodb_secondary_reads, settings.mongodb_max_staleness_seconds
        )

    def reader(self, kind: ReadKind) -> Database:
        """The database for one kind of read that tolerates a little lag: a secondary's
        when ``MONGODB_SECONDARY_READS`` lists it, else the primary (``svc.db``)."""
        return self.readers[kind]

    async def users_changed(self, user_ids: list[str], *, counts_only: bool = False) -> None:
        """Tell every process that these users' documents changed (``counts_only``: only
        their follower/following/tweet counters), so none serves them from its cache."""
        if self.on_users_changed is not None and user_ids:
            await self.on_users_changed(user_ids, counts_only)

    async def tweets_changed(self, tweet_ids: list[str]) -> None:
        """Tell every process that these tweets' documents changed (text, hidden, deleted),
        so none serves them from the cache. Call it right after every such write (counters
        moved by the outbox worker replace the copies instead: ``tweetcache.refreshed``)."""
        if tweet_ids:
            await self.tweet_cache.forget(tweet_ids)

    async def likes_changed(self, user_id: str, tweet_id: str, *, liked: bool) -> None:
        """``user_id`` liked (or unliked) ``tweet_id``: their ``liked_by_me`` follows at once."""
        if self.liked is not None:
            await self.liked.changed(user_id, tweet_id, liked=liked)

    async def marks_changed(self, kind: str, user_id: str, tweet_id: str, *, on: bool) -> None:
        """``user_id`` reposted or bookmarked ``tweet_id`` (``kind``), or took it back: their
        ``reposted_by_me`` / ``bookmarked_by_me`` follows at once."""
        cache = {"reposted": self.reposted, "bookmarked": self.bookmarked}[kind]
        if cache is not None:
            await cache.changed(user_id, tweet_id, liked=on)

    def written(self) -> None:
        """Something was stored with pending effects: wake the outbox worker, this
        process's or (through the hub) the one another process runs."""
        if self.outbox is not None:
            self.outbox.poke()
        elif self.on_written is not None:
            self.on_written()

    async def publish(
        self, streams: Sequence[str], event: _Event, *, once: str | None = None
    ) -> None:
        """Hand an event to the realtime hub (if one is wired) for the given streams; an
        announcement the outbox worker may repeat names itself with ``once`` (see
        ``realtime/publisher.py``)."""
        if self.events is not None and streams:
            await self.events.publish(streams, event, once)

    async def publish_many(self, events: Sequence[Announcement]) -> None:
        """``publish`` for several events at once: the outbox worker's batch, or the new
        tweets of concurrent requests (``tweets.announce_own``)."""
        if self.events is not None and events:
            await self.events.publish_many([e for e in events if e[0]])


def services(conn: HTTPConnection) -> Services:
    svc: Services = conn.app.state.services
    return svc
