"""Tweets by id, cached, so a page of tweets is hydrated without the database when warm.

- ``RedisTweetCache`` (``REDIS_URL`` set): one key per tweet, ``murmur:<db>:tw:<id>``, the
  tweet's JSON with a TTL; a page is one ``MGET``. Redis is shared, so a change dropped there
  (``DEL``) is dropped for every process at once: no broadcast is needed.
- ``MemoryTweetCache`` (no Redis: one process): a bounded LRU, dropped directly.

Only visible tweets are cached (what ``store.tweets.by_ids`` returns), without ``liked_by_me``
(that is per reader, ``server/likedcache.py``). Every write to a tweet document calls
``Services.tweets_changed`` right after it, so edits, deletes and hides show on the next
read; the TTL only bounds what a lost ``DEL`` (Redis away at that moment) leaves behind.
Counters are the exception: the outbox worker that moved them reads the tweets again and
replaces their copies (``refreshed``), so a tweet liked or replied to many times a second
stays cached, its counters behind by at most the worker's batch.

A read that raced with a change must not store what it read. Each tweet has a version, bumped
by every change (in Redis ``murmur:<db>:twv:<id>``, read in the same ``MGET``); a miss is read
from the database after its version was seen, and stored only while the version is still the
one seen (a Lua check-and-set in Redis), like ``server/usercache.py``'s epochs.

Both hand out shared ``Tweet`` objects, pre-rendered for responses (``server/tweetjson.py``):
read paths copy them (``model_copy``), never change them in place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol, cast
from weakref import WeakKeyDictionary

from bson import ObjectId
from redis.asyncio import Redis

from .db import Database
from .models import Tweet
from .redisslots import (
    REDIS_ERRORS,
    Replies,
    eval_each,
    is_cluster,
    queue_mget,
    replies_or_none,
    tagged,
)
from .store import tweets as tweet_store
from .tweetjson import Decoder, with_head

log = logging.getLogger("murmur.tweetcache")

# What ``store`` must still see, per tweet id, for a read started at ``lookup`` to be kept.
Seen = dict[str, str]

# KEYS: (version, value) pairs; ARGV[1]: ttl; then each pair's seen version, then its value.
_STORE_IF_UNCHANGED = """
local n = #KEYS / 2
local stored = 0
for i = 1, n do
  if (redis.call('GET', KEYS[2 * i - 1]) or '') == ARGV[1 + i] then
    redis.call('SET', KEYS[2 * i], ARGV[1 + n + i], 'EX', ARGV[1])
    stored = stored + 1
  end
end
return stored
"""


class TweetCache(Protocol):
    """tweet id -> the tweet as stored (visible ones only)."""

    async def lookup(self, tweet_ids: list[str]) -> tuple[dict[str, Tweet], Seen]:
        """The cached tweets among ``tweet_ids``, and what ``store`` needs for the others."""
        ...

    async def store(self, tweets: list[Tweet], seen: Seen) -> None:
        """Keep tweets read after ``lookup`` returned ``seen`` (unless changed since)."""
        ...

    async def forget(self, tweet_ids: list[str]) -> None:
        """These tweets changed: drop them, and refuse racing reads' copies."""
        ...

    async def versions(self, tweet_ids: list[str]) -> Seen:
        """What ``store`` needs to replace these tweets' copies, cached or not."""
        ...


class MemoryTweetCache:
    """The cache of a process without Redis: bounded, least recently used goes first."""

    def __init__(self, ttl: float = 300.0, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Tweet]] = OrderedDict()
        self._versions: dict[str, int] = {}
        self._generation = 0

    def _seen(self, tweet_id: str) -> str:
        return f"{self._generation}:{self._versions.get(tweet_id, 0)}"

    async def lookup(self, tweet_ids: list[str]) -> tuple[dict[str, Tweet], Seen]:
        found: dict[str, Tweet] = {}
        seen: Seen = {}
        now = time.monotonic()
        for tweet_id in tweet_ids:
            entry = self._entries.get(tweet_id)
            if entry is not None and entry[0] >= now:
                self._entries.move_to_end(tweet_id)
                found[tweet_id] = entry[1]
            else:
                seen[tweet_id] = self._seen(tweet_id)
        return found, seen

    async def store(self, tweets: list[Tweet], seen: Seen) -> None:
        fresh_until = time.monotonic() + self.ttl
        for tweet in tweets:
            if seen.get(tweet.tweet_id) != self._seen(tweet.tweet_id):
                continue  # changed while it was being read: the next read reads it again
            self._entries[tweet.tweet_id] = (fresh_until, with_head(tweet))
            self._entries.move_to_end(tweet.tweet_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def versions(self, tweet_ids: list[str]) -> Seen:
        return {tweet_id: self._seen(tweet_id) for tweet_id in tweet_ids}

    async def forget(self, tweet_ids: list[str]) -> None:
        for tweet_id in tweet_ids:
            self._entries.pop(tweet_id, None)
            if len(self._versions) >= self.max_entries:
                # Forgetting versions could let a racing read store a stale tweet: start over.
                self._entries.clear()
                self._versions.clear()
                self._generation += 1
            self._versions[tweet_id] = self._versions.get(tweet_id, 0) + 1


class RedisTweetCache:
    """The cache shared by every process, in Redis. An unreachable Redis is a miss.

    On a Redis Cluster a tweet's two keys share a hash tag (``tw:{<id>}``, ``twv:{<id>}``),
    so the check-and-set of one tweet touches one slot; a page's tweets are spread over every
    master, so a page is read with one ``MGET`` per slot and stored with one script per tweet,
    each batch pipelined: one round trip per master (``server/redisslots.py``)."""

    def __init__(self, redis: Redis, *, prefix: str, ttl: int = 300, version_ttl: int = 900):
        self.redis = redis
        self.prefix = prefix  # "murmur:<db>:"
        self.ttl = ttl
        # Longer than any read takes: a version that expired mid-read could repeat.
        self.version_ttl = version_ttl
        self._store_script = redis.register_script(_STORE_IF_UNCHANGED)
        self._decoder = Decoder()  # each distinct value parsed once per process

    def _key(self, tweet_id: str) -> str:
        return f"{self.prefix}tw:{tagged(tweet_id)}"

    def _version_key(self, tweet_id: str) -> str:
        # The tweet's tag: the store script reads this and writes _key in one slot.
        return f"{self.prefix}twv:{tagged(tweet_id)}"

    async def lookup(self, tweet_ids: list[str]) -> tuple[dict[str, Tweet], Seen]:
        if not tweet_ids:
            return {}, {}
        pipe = self.redis.pipeline(transaction=False)
        read = self.queue_lookup(pipe, tweet_ids)
        replies = await replies_or_none(pipe, log, "tweet cache")
        return ({}, {}) if replies is None else read(replies)  # nothing seen: nothing stored

    def queue_lookup(
        self, pipe: Any, tweet_ids: list[str]
    ) -> Callable[[Replies], tuple[dict[str, Tweet], Seen]]:
        """``lookup`` as part of a pipeline that also carries other reads (the reader's
        marks: ``server/seen.py``), so that together they cost one round trip. Returns what
        reads its part of the replies."""
        keys = [k for t in tweet_ids for k in (self._key(t), self._version_key(t))]
        read_values = queue_mget(pipe, self.redis, keys)

        def read(replies: Replies) -> tuple[dict[str, Tweet], Seen]:
            values = cast(list[str | None], read_values(replies))
            found: dict[str, Tweet] = {}
            seen: Seen = {}
            for i, tweet_id in enumerate(tweet_ids):
                value, version = values[2 * i], values[2 * i + 1]
                if value is not None:
                    found[tweet_id] = self._decoder.decode(tweet_id, value)
                else:
                    seen[tweet_id] = version or ""
            return found, seen

        return read

    async def store(self, tweets: list[Tweet], seen: Seen) -> None:
        kept = [t for t in tweets if t.tweet_id in seen]
        if not kept:
            return
        keys = [k for t in kept for k in (self._version_key(t.tweet_id), self._key(t.tweet_id))]
        versions = [seen[t.tweet_id] for t in kept]
        values = [t.model_dump_json() for t in kept]
        try:
            if is_cluster(self.redis):  # a tweet's two keys share a slot, a page's tweets not
                pipe = self.redis.pipeline(transaction=False)
                calls = [
                    (keys[2 * i : 2 * i + 2], [self.ttl, version, value])
                    for i, (version, value) in enumerate(zip(versions, values, strict=True))
                ]
                eval_each(pipe, _STORE_IF_UNCHANGED, calls)
                await pipe.execute()
            else:
                await self._store_script(keys=keys, args=[str(self.ttl), *versions, *values])
        except REDIS_ERRORS as exc:
            log.warning("tweet cache unavailable, not storing: %s", exc)

    async def versions(self, tweet_ids: list[str]) -> Seen:
        if not tweet_ids:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        read = queue_mget(pipe, self.redis, [self._version_key(t) for t in tweet_ids])
        replies = await replies_or_none(pipe, log, "tweet cache")
        if replies is None:
            return {}  # nothing seen: nothing stored
        values = cast(list[str | None], read(replies))
        return {t: v or "" for t, v in zip(tweet_ids, values, strict=True)}

    async def forget(self, tweet_ids: list[str]) -> None:
        if not tweet_ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        for tweet_id in tweet_ids:
            pipe.incr(self._version_key(tweet_id))
            pipe.expire(self._version_key(tweet_id), self.version_ttl)
            pipe.delete(self._key(tweet_id))
        try:
            await pipe.execute()
        except REDIS_ERRORS as exc:
            # The cached copies may outlive the change by up to ``ttl`` seconds.
            log.error("could not drop changed tweets %s from the cache: %s", tweet_ids, exc)


async def hydrate(cache: TweetCache, db: Database, tweet_ids: list[ObjectId]) -> list[Tweet]:
    """The visible tweets among ``tweet_ids``, in that order: from the cache, and the misses
    with one ``find`` (then cached). Missing or hidden ones are left out."""
    found, seen = await cache.lookup([str(t) for t in tweet_ids])
    return await completed(cache, db, tweet_ids, found, seen)


async def refreshed(cache: TweetCache, db: Database, tweet_ids: list[ObjectId]) -> list[Tweet]:
    """The visible tweets among ``tweet_ids``, read again after their counters moved and put
    in the cache in place of the copies there (unless an edit, delete or hide dropped them
    meanwhile). A tweet being liked or replied to many times a second is the one every reader
    wants: dropped at each change and left for readers to fill, it sent all of them to the
    database (every reply's parent check too). Until the new copy is stored readers get
    the old one, counters behind by this one change: the batch's latency, under a second."""
    seen = await cache.versions([str(t) for t in tweet_ids])
    try:
        return list((await _from_database(cache, db, tweet_ids, seen)).values())
    except BaseException:
        await cache.forget([str(t) for t in tweet_ids])  # no stale counters for long
        raise


async def completed(
    cache: TweetCache, db: Database, tweet_ids: list[ObjectId], found: dict[str, Tweet], seen: Seen
) -> list[Tweet]:
    """``hydrate`` after its lookup (``found``, ``seen``): the misses read, in order."""
    wanted = [str(t) for t in tweet_ids]
    missing = [t for t, key in zip(tweet_ids, wanted, strict=True) if key not in found]
    if missing:
        found.update(await _read(cache, db, missing, seen))
    return [found[key] for key in wanted if key in found]


# Reads of missing tweets in flight per cache (one per process), by (tweet id, version seen).
_FAILED = object()
_Flights = dict[tuple[str, str], "asyncio.Future[object]"]
_flights: WeakKeyDictionary[TweetCache, _Flights] = WeakKeyDictionary()


async def _read(
    cache: TweetCache, db: Database, missing: list[ObjectId], seen: Seen
) -> dict[str, Tweet]:
    """The missing tweets from the database, read once per process however many readers
    miss them at the same moment. A change drops a tweet that every reader of a busy page
    wants (the newest tweets, while the outbox worker settles them), and 32 readers each
    sending the same query to a database busy with the worker's writes waited seconds.

    A reader joins a read of the same tweet at the same version only: that read started
    after the version was seen, so it is no older than what the reader would read itself."""
    flights = _flights.setdefault(cache, {})
    loop = asyncio.get_running_loop()
    mine: dict[tuple[str, str], asyncio.Future[object]] = {}
    theirs: dict[str, asyncio.Future[object]] = {}
    for oid in missing:
        key = str(oid)
        if key not in seen:  # the cache is away: nothing to key a shared read on
            mine[(key, "")] = loop.create_future()
            continue
        flight = (key, seen[key])
        if (joined := flights.get(flight)) is not None:
            theirs[key] = joined
        else:
            flights[flight] = mine[flight] = loop.create_future()
    got: dict[str, Tweet] = {}
    if mine:
        read = False
        try:
            got = await _from_database(cache, db, [ObjectId(k) for k, _ in mine], seen)
            read = True
        finally:
            for flight, future in mine.items():
                if flights.get(flight) is future:
                    del flights[flight]
                future.set_result(got.get(flight[0]) if read else _FAILED)
    failed = []
    for key, future in theirs.items():
        result = await future
        if isinstance(result, Tweet):
            got[key] = result
        elif result is _FAILED:
            failed.append(ObjectId(key))  # the read this one joined failed: try again
    if failed:
        got.update(await _from_database(cache, db, failed, seen))
    return got


async def _from_database(
    cache: TweetCache, db: Database, ids: list[ObjectId], seen: Seen
) -> dict[str, Tweet]:
    if len(ids) == 1:  # by ``_id``: SecantusDB answers an ``$in`` with a scan
        one = await tweet_store.get(db, tweet_id=ids[0])
        fresh = [] if one is None else [one]
    else:
        fresh = await tweet_store.by_ids(db, tweet_ids=ids)
    await cache.store(fresh, seen)
    return {t.tweet_id: t for t in fresh}
