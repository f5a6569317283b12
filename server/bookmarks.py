"""Bookmarks: private, newest first, no counter and no notification. Only the owner ever
sees them (``bookmarked_by_me`` is set for the caller alone)."""

from __future__ import annotations

from bson import ObjectId

from . import social, tweetcache, tweets
from .accounts import Caller
from .models import Tweet
from .paging import PageQuery
from .services import Services
from .store import bookmarks as store


async def bookmark(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Bookmark a tweet the caller may see (idempotent)."""
    tweet = await tweets.visible(svc, caller, tweet_id)
    await svc.limits.hit(svc.settings.rate_limit_like, "bookmark", caller.id)
    if await store.add(svc.db, user_id=caller.id, tweet_id=tweet.tweet_id, now=svc.clock()):
        await svc.marks_changed("bookmarked", caller.id, tweet.tweet_id, on=True)
    return tweet.model_copy(update={"bookmarked_by_me": True})


async def unbookmark(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Remove a bookmark (idempotent)."""
    tweet = await tweets.visible(svc, caller, tweet_id)
    if await store.remove(svc.db, user_id=caller.id, tweet_id=tweet.tweet_id):
        await svc.marks_changed("bookmarked", caller.id, tweet.tweet_id, on=False)
    return tweet.model_copy(update={"bookmarked_by_me": False})


async def page(
    svc: Services, caller: Caller, page: PageQuery
) -> tuple[list[Tweet], ObjectId | None]:
    """The caller's bookmarks, newest bookmark first; deleted, hidden and blocked authors'
    tweets are left out (the cursor still moves past them)."""
    ids, after = await store.page(svc.db, user_id=caller.id, page=page)
    oids = [ObjectId(t) for t in ids if ObjectId.is_valid(t)]
    found = await tweetcache.hydrate(svc.tweet_cache, svc.db, oids)
    blocked = await social.unseen_authors(svc, caller, muted=False)
    shown = [t for t in found if t.user_id not in blocked]
    return [t.model_copy(update={"bookmarked_by_me": True}) for t in shown], after


async def bookmarked_by_me(svc: Services, caller: Caller, ids: list[str]) -> set[str]:
    """Which of ``ids`` the caller bookmarked (``bookmarked_by_me``; one query)."""
    if svc.bookmarked is not None:  # the caller's cached set (server/likedcache.py)
        return await svc.bookmarked.liked_among(svc.db, caller.id, ids)
    return await store.bookmarked_among(svc.db, user_id=caller.id, tweet_ids=ids)
