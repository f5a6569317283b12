"""Pinned tweets: up to ``MAX_PINS`` of one's own, shown first on a profile
(``GET /users/{id}/tweets?pinned=true``). A pin moves no counter and notifies nobody, so it
is one write without an outbox entry; the worker unpins a deleted tweet."""

from __future__ import annotations

from bson import ObjectId

from . import social, tweetcache, tweets
from .accounts import Caller
from .errors import Unprocessable
from .models import Tweet
from .services import Services
from .store import pins as store


async def pin(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Pin one of the caller's tweets (idempotent); 422 ``too_many_pins`` beyond the limit."""
    tweet = await tweets.own(svc, caller, tweet_id)
    added = await store.add(svc.db, user_id=caller.id, tweet_id=tweet.tweet_id, now=svc.clock())
    if added is None:
        raise Unprocessable(
            f"You can pin at most {store.MAX_PINS} tweets; unpin one first.",
            code="too_many_pins",
            details=[{"max_pins": store.MAX_PINS}],
        )
    return tweet


async def unpin(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Unpin (idempotent)."""
    tweet = await tweets.own(svc, caller, tweet_id)
    await store.remove(svc.db, user_id=caller.id, tweet_id=tweet.tweet_id)
    return tweet


async def pinned(svc: Services, caller: Caller | None, user_id: str) -> list[Tweet]:
    """A user's pinned tweets, newest pin first (none when either blocks the other)."""
    if user_id in await social.unseen_authors(svc, caller, muted=False):
        return []
    ids = [ObjectId(t) for t in await store.pinned(svc.db, user_id=user_id)]
    return await tweetcache.hydrate(svc.tweet_cache, svc.db, ids)
