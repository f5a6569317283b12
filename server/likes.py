"""Likes, and ``liked_by_me`` on every tweet a signed-in caller reads.

A like or unlike is one write to its edge (``store/likes.py``); the counter, trending, the
notification and the live counts follow from the outbox worker (``server/effects/edges.py``).
The answer shows the count as it will be once the worker has run.
"""

from __future__ import annotations

from . import tweets
from .accounts import Caller
from .errors import Forbidden
from .models import Tweet
from .services import Services
from .social import blocked_between
from .store import likes as like_store


async def like(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Like a tweet once (idempotent): the counter, a notification and live counts move once."""
    tweet = await tweets.get(svc, tweet_id)
    if await blocked_between(svc, caller.id, tweet.user_id):
        raise Forbidden("You cannot like this tweet.", code="blocked")
    await svc.limits.hit(svc.settings.rate_limit_like, "like", caller.id)
    if await like_store.add(svc.db, tweet_id=tweet.tweet_id, user_id=caller.id, now=svc.clock()):
        svc.written()
        await svc.likes_changed(caller.id, tweet.tweet_id, liked=True)
        tweet = tweet.model_copy(update={"like_count": tweet.like_count + 1})
    return tweet.model_copy(update={"liked_by_me": True})


async def unlike(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Take a like back (idempotent): the counter moves only if a like was removed."""
    tweet = await tweets.get(svc, tweet_id)
    if await like_store.remove(svc.db, tweet_id=tweet.tweet_id, user_id=caller.id):
        svc.written()
        await svc.likes_changed(caller.id, tweet.tweet_id, liked=False)
        tweet = tweet.model_copy(update={"like_count": max(0, tweet.like_count - 1)})
    return tweet.model_copy(update={"liked_by_me": False})


async def liked_by_me(svc: Services, caller: Caller, ids: list[str]) -> set[str]:
    """Which of ``ids`` the caller liked (``liked_by_me`` on a page): from the caller's
    cached liked set with Redis (server/likedcache.py), else one query per page."""
    if svc.liked is not None:
        return await svc.liked.liked_among(svc.db, caller.id, ids)
    return await like_store.liked_among(svc.db, user_id=caller.id, tweet_ids=ids)
