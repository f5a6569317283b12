"""Tweets as one reader sees them: quoted tweets embedded, and the reader's own marks
(``liked_by_me``, ``reposted_by_me``, ``bookmarked_by_me``) set — the same on every read
path, each mark from the reader's cached set (``server/likedcache.py``) when warm."""

from __future__ import annotations

from . import bookmarks, likes, quotes, reposts
from .accounts import Caller
from .models import Tweet
from .services import Services


async def as_seen_by(svc: Services, caller: Caller | None, items: list[Tweet]) -> list[Tweet]:
    """``items`` as ``caller`` (None: signed out) may see them now."""
    items = await quotes.embed(svc, caller, items)
    if caller is None or not items:
        return items
    ids = [t.tweet_id for t in items]
    reposted = await reposts.reposted_by_me(svc, caller, ids)
    bookmarked = await bookmarks.bookmarked_by_me(svc, caller, ids)
    liked = await likes.liked_by_me(svc, caller, ids)
    # One copy per tweet (it keeps the tweet's pre-rendered JSON: server/tweetjson.py).
    return [
        t.model_copy(
            update={
                "liked_by_me": t.tweet_id in liked,
                "reposted_by_me": t.tweet_id in reposted,
                "bookmarked_by_me": t.tweet_id in bookmarked,
            }
        )
        for t in items
    ]
