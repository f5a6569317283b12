"""Conversations: ``GET /tweets/{id}/context``, a tweet with the chain above it and the
replies below it, like Mastodon's context.

- Ancestors: the parents up to the root, oldest first, one tweet-cache lookup per level (no
  query when warm), at most ``ANCESTORS_MAX``. A tweet by an author who blocks the reader or
  whom the reader blocks is left out and the walk goes on above it; a deleted or hidden
  parent ends the chain (what is above it cannot be reached).
- Descendants: read level by level (one query per level, ``DEPTH_MAX`` levels, at most
  ``SCAN_MAX`` replies in all), then listed depth first, each reply's replies oldest first,
  ``limit`` (up to ``DESCENDANTS_MAX``) a page. Replies by authors the reader blocks, is
  blocked by or mutes are left out with the replies below them, as in comment lists.
  ``next_cursor`` is the last reply shown: the next page continues after it in the same
  order (if that reply is gone by then, with the replies newer than it).
"""

from __future__ import annotations

from bson import ObjectId

from . import seen, tweetcache, tweets
from .accounts import Caller
from .models import Tweet, TweetContext
from .services import Services
from .social import unseen_authors
from .store import tweets as tweet_store

ANCESTORS_MAX = 40
DESCENDANTS_MAX = 200
DEPTH_MAX = 20
SCAN_MAX = 2000


async def context(
    svc: Services, caller: Caller | None, tweet_id: str, *, after: ObjectId | None, limit: int
) -> tuple[TweetContext, ObjectId | None]:
    """The conversation around a tweet the caller may read (404 otherwise), and the reply
    to continue after when there are more descendants."""
    focus = await tweets.visible(svc, caller, tweet_id)
    ancestors = await _ancestors(svc, caller, focus)
    order = await _descendants(svc, caller, focus.tweet_id)
    start = order.index(after) + 1 if after in order else 0
    if after is not None and after not in order:
        order = [t for t in order if t > after]
    page = order[start : start + limit]
    more = start + limit < len(order)
    below = await tweetcache.hydrate(svc.tweet_cache, svc.db, page)
    shown = await seen.as_seen_by(svc, caller, ancestors + below)
    body = TweetContext(ancestors=shown[: len(ancestors)], descendants=shown[len(ancestors) :])
    return body, (page[-1] if more and page else None)


async def _ancestors(svc: Services, caller: Caller | None, focus: Tweet) -> list[Tweet]:
    hidden = await unseen_authors(svc, caller, muted=False)
    chain: list[Tweet] = []
    current = focus
    for _ in range(ANCESTORS_MAX):
        parent = current.in_reply_to
        if not parent or not ObjectId.is_valid(parent):
            break
        found = await tweetcache.hydrate(svc.tweet_cache, svc.db, [ObjectId(parent)])
        if not found:
            break
        current = found[0]
        if current.user_id not in hidden:
            chain.append(current)
    chain.reverse()
    return chain


async def _descendants(svc: Services, caller: Caller | None, root: str) -> list[ObjectId]:
    """Every reply below ``root`` within the bounds, in depth-first order."""
    hidden = await unseen_authors(svc, caller, muted=True)
    children: dict[str, list[ObjectId]] = {}
    level, found = [root], 0
    for _ in range(DEPTH_MAX):
        if not level or found >= SCAN_MAX:
            break
        links = await tweet_store.reply_links(
            svc.db, parents=level, exclude_authors=hidden, limit=SCAN_MAX - found
        )
        for reply, parent in links:
            children.setdefault(parent, []).append(reply)
        level, found = [str(r) for r, _ in links], found + len(links)
    order: list[ObjectId] = []
    stack = list(reversed(children.get(root, [])))
    while stack:
        reply = stack.pop()
        order.append(reply)
        stack.extend(reversed(children.get(str(reply), [])))
    return order
