"""The home timeline: hybrid fan-out on write (push) and merge on read (pull).

- Push: when an ordinary author posts, the outbox worker (``server/effects/timelines.py``)
  writes the tweet id into each follower's stored timeline (``svc.timelines``: Redis sorted
  sets, or the MongoDB ``timelines`` collection without Redis), off the request path.
  The author's own timeline gets the tweet too.
- Pull: authors above ``FANOUT_MAX_FOLLOWERS`` are merged in at read time, from each one's
  cached recent ids (``svc.recent``, Redis) or from ``tweets``.
- Stored timelines are capped; below the oldest stored entry every followed author is
  pulled from ``tweets``, so scrolling never ends early.
- Redis timelines are a cache: one the store lost is rebuilt from ``follows`` and
  ``tweets`` before it is read, and while Redis is unreachable reads pull everything.
"""

from __future__ import annotations

import logging

from bson import ObjectId

from . import pages, tweetcache
from .accounts import Caller
from .models import Tweet
from .paging import PageQuery
from .services import Services
from .social import big_authors, followees, hidden_authors, pull_authors_followed
from .store import follows as follow_store
from .store import recent as recent_store
from .store.timelines import TimelinesUnavailable

__all__ = ["home", "pull_authors_followed"]

log = logging.getLogger("murmur.timeline")


async def home(
    svc: Services, caller: Caller, page: PageQuery
) -> tuple[list[Tweet], ObjectId | None]:
    """One page of ``caller``'s home timeline, newest first, and the id to continue after."""
    db, me = svc.db, caller.id
    hidden = await hidden_authors(svc, me)
    need = page.skip + page.limit + 1
    before = page.after
    stored = await _stored_ids(svc, me, before=before, limit=need, exclude=hidden)
    pull = [a for a in await pull_authors_followed(svc, me) if a not in hidden]
    candidates = set(stored)
    candidates.update(await pages.pulled_ids(svc, pull, before=before, limit=need))
    if len(stored) < need:
        # The stored timeline ran out (or was capped): below its last entry, pull from
        # everyone followed.
        boundary = stored[-1] if stored else before
        followed = await followees(svc, me)
        authors = sorted(a for a in {me, *followed} if a not in hidden)
        candidates.update(await pages.pulled_ids(svc, authors, before=boundary, limit=need))
    ordered = sorted(candidates, reverse=True)[page.skip : need]
    more = len(ordered) > page.limit
    ordered = ordered[: page.limit]
    items = await tweetcache.hydrate(svc.tweet_cache, db, ordered)
    return items, (ordered[-1] if more and ordered else None)


async def _stored_ids(
    svc: Services, owner: str, *, before: ObjectId | None, limit: int, exclude: frozenset[str]
) -> list[ObjectId]:
    """The stored part of a page: none when the store is unreachable (``home`` then pulls
    every followed author, which is right, only slower)."""
    try:
        await svc.timelines.ensure_built(owner=owner, rebuild=lambda: _rebuild(svc, owner))
        return await svc.timelines.newest_ids(
            owner=owner, before=before, limit=limit, exclude=exclude
        )
    except TimelinesUnavailable as exc:
        log.warning("timeline store unavailable, pulling %s's timeline: %s", owner, exc)
        return []


async def _rebuild(svc: Services, owner: str) -> list[tuple[ObjectId, str]]:
    """What the fan-out worker would have pushed to ``owner``: the newest tweets of the
    followed authors below the threshold (big authors are pulled anyway), and ``owner``'s."""
    big = await big_authors(svc)
    followed = await follow_store.followees(svc.db, follower=owner)
    authors = [owner, *(a for a in followed if a not in big and a != owner)]
    limit = svc.settings.timeline_max_entries
    return await recent_store.recent_entries(svc.db, authors=authors, limit=limit)
