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
- Reposts (``server/effects/reposts.py``) are stored entries keyed by the repost's id (big
  reposters' are pulled from ``reposts``), resolved to the original here with
  ``reposted_by`` set; an original shows once a page.
"""

from __future__ import annotations

import logging

from bson import ObjectId

from . import pages, seen
from .accounts import Caller
from .models import RepostedBy, Tweet
from .paging import PageQuery
from .services import Services
from .social import big_authors, followees, hidden_authors, pull_authors_followed
from .store import follows as follow_store
from .store import recent as recent_store
from .store import repost_claims
from .store import reposts as repost_store
from .store import users as user_store
from .store.timelines import Slot, TimelinesUnavailable

__all__ = ["home", "pull_authors_followed"]

log = logging.getLogger("murmur.timeline")


async def home(
    svc: Services, caller: Caller, page: PageQuery
) -> tuple[list[Tweet], ObjectId | None]:
    """One page of ``caller``'s home timeline, newest first, as they see it (``seen``), and
    the id to continue after (an entry's id: a tweet's, or a repost's, so cursors stay
    stable)."""
    me = caller.id
    hidden = await hidden_authors(svc, me)
    need = page.skip + page.limit + 1
    before = page.after
    stored = await _stored(svc, me, before=before, limit=need, exclude=hidden)
    pull = [a for a in await pull_authors_followed(svc, me) if a not in hidden]
    pulled = await repost_store.newest_by(
        svc.reader("timeline"), users=pull, before=before, limit=need
    )
    reposts = {s.id: s for s in [*stored, *pulled] if s.original is not None}
    candidates = {s.id for s in stored} | set(reposts)
    candidates.update(await pages.pulled_ids(svc, pull, before=before, limit=need))
    if len(stored) < need:
        # The stored timeline ran out (or was capped): below its last entry, pull from
        # everyone followed.
        boundary = stored[-1].id if stored else before
        followed = await followees(svc, me)
        authors = sorted(a for a in {me, *followed} if a not in hidden)
        candidates.update(await pages.pulled_ids(svc, authors, before=boundary, limit=need))
    ordered = sorted(candidates, reverse=True)[page.skip : need]
    more = len(ordered) > page.limit
    ordered = ordered[: page.limit]
    page_reposts = {e: r for e in ordered if (r := reposts.get(e)) is not None}
    # A repost shows only to readers who do not have the original as a tweet (its author,
    # their followers) and do not hide its author: the push skips them, pulled reposts and
    # relations changed since are filtered here.
    unwanted = hidden | {me, *await followees(svc, me)} if page_reposts else hidden
    items = await _resolved(svc, caller, ordered, page_reposts, unwanted)
    return items, (ordered[-1] if more and ordered else None)


async def _resolved(
    svc: Services,
    caller: Caller,
    ordered: list[ObjectId],
    reposts: dict[ObjectId, Slot],
    unwanted: frozenset[str],
) -> list[Tweet]:
    """The tweets of a page's entries: a repost entry becomes its original with
    ``reposted_by``, left out when its author is ``unwanted``; an original shows once (the
    newest entry wins: the push avoids repeats, this is the backstop)."""
    wanted = [r.original if (r := reposts.get(e)) and r.original else e for e in ordered]
    # Bodies and the reader's marks in one Redis round trip when warm.
    found = {t.tweet_id: t for t in await seen.hydrate(svc, caller, list(dict.fromkeys(wanted)))}
    by = await _reposters(svc, sorted({r.author for r in reposts.values()}))
    items: list[Tweet] = []
    shown: set[str] = set()
    for entry, tweet_id in zip(ordered, wanted, strict=True):
        tweet = found.get(str(tweet_id))
        if tweet is None or tweet.tweet_id in shown:
            continue
        if (slot := reposts.get(entry)) is not None:
            if tweet.user_id in unwanted or (reposter := by.get(slot.author)) is None:
                continue  # the reposter's account is gone
            tweet = tweet.model_copy(update={"reposted_by": reposter})
        shown.add(tweet.tweet_id)
        items.append(tweet)
    return items


async def _reposters(svc: Services, user_ids: list[str]) -> dict[str, RepostedBy]:
    """Who reposted: from the signed-in users' cache when it holds them, else one query."""
    records = {}
    if svc.auth is not None:
        records = {u: r for u in user_ids if (r := svc.auth.users.get(u)) is not None}
    missing = [u for u in user_ids if u not in records]
    if missing:
        records.update(await user_store.by_ids(svc.db, user_ids=missing))
    return {
        u: RepostedBy(user_id=u, user_name=r.user_name, display_name=r.user_metadata.display_name)
        for u, r in records.items()
    }


async def _stored(
    svc: Services, owner: str, *, before: ObjectId | None, limit: int, exclude: frozenset[str]
) -> list[Slot]:
    """The stored part of a page: none when the store is unreachable (``home`` then pulls
    every followed author, which is right, only slower)."""
    try:
        # Rebuilt first when the store lost it (``ensure_built``, checked in the same round
        # trip as the read).
        return await svc.timelines.newest(
            owner=owner, before=before, limit=limit, exclude=exclude,
            rebuild=lambda: rebuild(svc, owner),
        )  # fmt: skip
    except TimelinesUnavailable as exc:
        log.warning("timeline store unavailable, pulling %s's timeline: %s", owner, exc)
        return []


async def rebuild(svc: Services, owner: str) -> list[Slot]:
    """What the fan-out worker would have pushed to ``owner``: the newest tweets of the
    followed authors below the threshold (big authors are pulled anyway), and ``owner``'s,
    and the reposts it claimed."""
    big = await big_authors(svc)
    followed = await follow_store.followees(svc.db, follower=owner)
    authors = [owner, *(a for a in followed if a not in big and a != owner)]
    limit = svc.settings.timeline_max_entries
    tweets = await recent_store.recent_entries(svc.db, authors=authors, limit=limit)
    reposts = await repost_claims.entries(svc.db, owner=owner, limit=limit)
    return [Slot(t, a) for t, a in tweets] + reposts
