"""Likes, and ``liked_by_me`` on every tweet a signed-in caller reads."""

from __future__ import annotations

from . import notifications, trending, tweet_hooks, tweets
from .accounts import Caller
from .errors import Forbidden
from .models import Tweet
from .services import Services
from .social import blocked_between
from .store import likes as like_store
from .store import tweets as tweet_store


async def like(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Like a tweet once (idempotent): the counter, a notification and live counts move once."""
    tweet = await tweets.get(svc, tweet_id)
    if await blocked_between(svc, caller.id, tweet.user_id):
        raise Forbidden("You cannot like this tweet.", code="blocked")
    await svc.limits.hit(svc.settings.rate_limit_like, "like", caller.id)
    if await like_store.add(svc.db, tweet_id=tweet.tweet_id, user_id=caller.id, now=svc.clock()):
        await svc.likes_changed(caller.id, tweet.tweet_id, liked=True)
        updated = await tweet_store.add_to_counter(
            svc.db, tweet_id=tweet.tweet_id, field="like_count", delta=1
        )
        await svc.tweets_changed([tweet.tweet_id])
        if updated is None:
            # Deleted between our read and the like: leave nothing behind.
            await like_store.remove(svc.db, tweet_id=tweet.tweet_id, user_id=caller.id)
            await svc.likes_changed(caller.id, tweet.tweet_id, liked=False)
            return await tweets.get(svc, tweet_id)  # raises 404
        tweet = updated
        await tweet_hooks.publish_counts(svc, tweet)
        await trending.engaged(svc, tweet.user_id)
        await notifications.notify(
            svc, recipient=tweet.user_id, kind="like", actor=caller.user, tweet_id=tweet.tweet_id
        )
    return tweet.model_copy(update={"liked_by_me": True})


async def unlike(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Take a like back (idempotent): the counter moves only if a like was removed."""
    tweet = await tweets.get(svc, tweet_id)
    if await like_store.remove(svc.db, tweet_id=tweet.tweet_id, user_id=caller.id):
        await svc.likes_changed(caller.id, tweet.tweet_id, liked=False)
        updated = await tweet_store.add_to_counter(
            svc.db, tweet_id=tweet.tweet_id, field="like_count", delta=-1
        )
        await svc.tweets_changed([tweet.tweet_id])
        if updated is not None:
            tweet = updated
            await tweet_hooks.publish_counts(svc, tweet)
    return tweet.model_copy(update={"liked_by_me": False})


async def with_liked_by_me(svc: Services, caller: Caller | None, items: list[Tweet]) -> list[Tweet]:
    """Set ``liked_by_me`` on a page of tweets for a signed-in caller: from the caller's
    cached liked set with Redis (server/likedcache.py), else one query per page."""
    if caller is None or not items:
        return items
    ids = [t.tweet_id for t in items]
    if svc.liked is not None:
        liked = await svc.liked.liked_among(svc.db, caller.id, ids)
    else:
        liked = await like_store.liked_among(svc.db, user_id=caller.id, tweet_ids=ids)
    return [t.model_copy(update={"liked_by_me": t.tweet_id in liked}) for t in items]
