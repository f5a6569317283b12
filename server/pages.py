"""Pages of tweets for reads: ids from where they are cheapest, bodies from the tweet cache.

With Redis, the first pages of ``GET /tweets``, of a profile and of big authors' pulled
tweets take their ids from the recent-id sets (``server/store/recent_redis.py``) and their
bodies, with the reader's marks, from one pipeline (``server/seen.py:hydrate``): no
database query when warm, two Redis round trips. Without Redis, or when a page reaches below
what the sets hold (or uses page numbers), the ids come from ``tweets`` as before. Pages are
returned as the reader sees them (``server/seen.py``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from bson import ObjectId

from . import seen, social
from .accounts import Caller
from .db import Database
from .models import Tweet
from .paging import PageQuery
from .redisslots import REDIS_ERRORS
from .services import Services
from .store import latest
from .store import recent as recent_store
from .store import tweets as tweet_store
from .store.recent_redis import PUBLIC, Loader

log = logging.getLogger("murmur.pages")


def recent_loader(db: Database) -> Loader:
    """What rebuilds a recent-id set: an author's newest tweets, or everyone's."""

    async def load(who: str, limit: int) -> list[tuple[ObjectId, str]]:
        if who == PUBLIC:
            return await recent_store.newest_entries(db, limit=limit)
        return await recent_store.recent_entries(db, authors=[who], limit=limit)

    return load


async def shown(svc: Services, tweets: Sequence[Tweet]) -> None:
    """Tweets became visible (posted, restored): they join the recent-id sets, in one round
    trip (the outbox worker's effect: a Redis failure fails its batch, which is retried)."""
    if svc.recent is not None and tweets:
        await svc.recent.added_many([(t.tweet_id, t.user_id) for t in tweets])


async def gone(svc: Services, tweets: Sequence[Tweet]) -> None:
    """Tweets are no longer visible (deleted, hidden): they leave the recent-id sets."""
    if svc.recent is not None:
        for tweet in tweets:
            await svc.recent.removed(tweet_id=tweet.tweet_id, author=tweet.user_id)


async def at_once(
    svc: Services,
    change: Callable[[Services, Sequence[Tweet]], Awaitable[None]],
    tweets: Sequence[Tweet],
) -> None:
    """``shown`` or ``gone`` from the requests that made the change, so the next read has it
    (its author's above all): best effort, since the worker makes the same change again and
    retries it until Redis answers."""
    try:
        await change(svc, tweets)
    except REDIS_ERRORS as exc:
        log.warning("recent ids of %d tweets left to the worker: %s", len(tweets), exc)
        if svc.recent is not None:
            # Meanwhile the sets may lack it (a failover's transient error, their shard up):
            # readers rebuild them from the database instead. A resync's refetch missed a
            # tweet this way in the Redis Cluster failover test.
            with contextlib.suppress(*REDIS_ERRORS):
                for author in sorted({t.user_id for t in tweets}):
                    await svc.recent.distrust(author=author)


async def public(
    svc: Services, caller: Caller | None, page: PageQuery
) -> tuple[list[Tweet], ObjectId | None]:
    """One page of ``GET /tweets`` as ``caller`` sees it (without authors they block or
    mute)."""
    exclude = await social.unseen_authors(svc, caller, muted=True)
    if svc.recent is not None and not page.skip:
        ids = await svc.recent.newest(
            [PUBLIC], before=page.after, limit=page.limit + 1, exclude=exclude
        )
        if ids is not None:
            return await _hydrated(svc, caller, ids, page.limit)
    items, after = await latest.page(
        svc.reader("timeline"), page=page, reach=svc.public_reach, exclude_authors=exclude
    )
    return await seen.as_seen_by(svc, caller, items), after


async def profile(
    svc: Services, caller: Caller | None, user_id: str, page: PageQuery
) -> tuple[list[Tweet], ObjectId | None]:
    """One page of a user's tweets, newest first, as ``caller`` sees them (nothing when
    either blocks the other)."""
    exclude = await social.unseen_authors(svc, caller, muted=False)
    if user_id in exclude:
        return [], None
    if svc.recent is not None and not page.skip:
        ids = await svc.recent.newest([user_id], before=page.after, limit=page.limit + 1)
        if ids is not None:
            return await _hydrated(svc, caller, ids, page.limit)
    # Your own page reads the primary: it must show the tweet you have just posted.
    own = caller is not None and caller.id == user_id
    db = svc.db if own else svc.reader("profile")
    items, after = await tweet_store.find_page(db, query={"user_id": user_id}, page=page)
    return await seen.as_seen_by(svc, caller, items), after


async def hashtag(
    svc: Services, caller: Caller | None, tag: str, page: PageQuery
) -> tuple[list[Tweet], ObjectId | None]:
    """One page of a hashtag's tweets as ``caller`` sees them: the ids from ``tweets``, the
    bodies from the cache."""
    exclude = await social.unseen_authors(svc, caller, muted=True)
    ids = await tweet_store.page_ids(
        svc.reader("timeline"),
        query={"links": tweet_store.tag_link(tag)},
        page=page,
        exclude_authors=exclude,
    )
    return await _hydrated(svc, caller, ids, page.limit)


async def pulled_ids(
    svc: Services, authors: list[str], *, before: ObjectId | None, limit: int
) -> list[ObjectId]:
    """The newest ``limit`` tweet ids by any of ``authors`` below ``before`` (the home
    timeline's pull path for big authors)."""
    if svc.recent is not None and authors:
        ids = await svc.recent.newest(authors, before=before, limit=limit)
        if ids is not None:
            return ids
    return await recent_store.recent_ids(
        svc.reader("timeline"), authors=authors, before=before, limit=limit
    )


async def _hydrated(
    svc: Services, caller: Caller | None, ids: list[ObjectId], limit: int
) -> tuple[list[Tweet], ObjectId | None]:
    more = len(ids) > limit
    ids = ids[:limit]
    return await seen.hydrate(svc, caller, ids), (ids[-1] if more and ids else None)
