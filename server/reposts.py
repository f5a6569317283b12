"""Reposts, and ``reposted_by_me`` on tweets a signed-in caller reads.

A repost or un-repost is one write to its edge (``store/reposts.py``); ``repost_count``, the
notification and the live counts follow from the outbox worker
(``server/effects/edges.py:reposts``). The answer shows the count as it will be once the
worker has run. Reposting one's own tweet is allowed.
"""

from __future__ import annotations

from . import tweets
from .accounts import Caller
from .errors import Forbidden
from .models import Tweet
from .services import Services
from .social import blocked_between
from .store import reposts as repost_store


async def repost(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Repost a tweet once (idempotent): the counter and a notification move once."""
    tweet = await tweets.get(svc, tweet_id)
    if await blocked_between(svc, caller.id, tweet.user_id):
        raise Forbidden("You cannot repost this tweet.", code="blocked")
    await svc.limits.hit(svc.settings.rate_limit_like, "repost", caller.id)
    if await repost_store.add(svc.db, tweet_id=tweet.tweet_id, user_id=caller.id, now=svc.clock()):
        svc.written()
        await svc.marks_changed("reposted", caller.id, tweet.tweet_id, on=True)
        tweet = tweet.model_copy(update={"repost_count": tweet.repost_count + 1})
    return tweet.model_copy(update={"reposted_by_me": True})


async def unrepost(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Take a repost back (idempotent): the counter moves only if a repost was removed."""
    tweet = await tweets.get(svc, tweet_id)
    if await repost_store.remove(svc.db, tweet_id=tweet.tweet_id, user_id=caller.id):
        svc.written()
        await svc.marks_changed("reposted", caller.id, tweet.tweet_id, on=False)
        tweet = tweet.model_copy(update={"repost_count": max(0, tweet.repost_count - 1)})
    return tweet.model_copy(update={"reposted_by_me": False})


async def reposted_by_me(svc: Services, caller: Caller, ids: list[str]) -> set[str]:
    """Which of ``ids`` the caller reposted (``reposted_by_me`` on a page): from the
    caller's cached set with Redis (server/likedcache.py), else one query per page."""
    if svc.reposted is not None:
        return await svc.reposted.liked_among(svc.db, caller.id, ids)
    return await repost_store.reposted_among(svc.db, user_id=caller.id, tweet_ids=ids)
