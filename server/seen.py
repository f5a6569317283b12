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
    items = await reposts.with_reposted_by_me(svc, caller, items)
    items = await bookmarks.with_bookmarked_by_me(svc, caller, items)
    return await likes.with_liked_by_me(svc, caller, items)
