"""Effect: reposts in the reposter's followers' home timelines and ``home:<id>`` streams.

A repost is pushed like a tweet (``effects/timelines.py``), keyed by the repost's id so it
sits where it happened, carrying the reposter and the original, which is resolved at read
time (``server/timeline.py``). A reader gets an original at most once: not when they follow
its author or are its author (it is there as a tweet), not when they block or mute either
user, and only through the first repost that claims it (``store/repost_claims.py``). The
reposter's own timeline gets it too. Reposters above ``FANOUT_MAX_FOLLOWERS`` are pulled at
read time instead, like their tweets (``server/timeline.py``), without a live event.

An un-repost, and a deleted or hidden original, take the entries out and send
``tweet.deleted`` (the original's id) to the home streams that showed them: on ``home:``
that event means "this card leaves the timeline". Every step is idempotent, so a re-run
batch changes nothing twice.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from realtime.channels import home_stream

from .. import tweetcache
from ..events import TweetCreated, TweetDeleted, TweetDeletedData
from ..models import RepostedBy, Tweet
from ..services import Services
from ..store import edges, repost_claims
from ..store import follows as follow_store
from ..store import relations as relation_store
from ..store import tweets as tweet_store
from ..store import users as user_store
from ..store.users import UserRecord
from . import timelines


async def apply(svc: Services, changed: list[dict[str, Any]]) -> None:
    """Reposts turned on go into timelines, those turned off come out (before the batch is
    settled, so a worker killed in between does it again)."""
    on = [d for d in changed if edges.is_on(d)]
    off = sorted({ObjectId(d["tweet_id"]) for d in changed if not edges.is_on(d)})
    ids = sorted({ObjectId(d["tweet_id"]) for d in on})
    originals = {t.tweet_id: t for t in await tweetcache.hydrate(svc.tweet_cache, svc.db, ids)}
    # Taken-back reposts: their tweets as they are (hidden ones too: the hub filters by author).
    authors = {t.tweet_id: t.user_id for t in await tweet_store.counts(svc.db, tweet_ids=off)}
    reposters = await user_store.by_ids(svc.db, user_ids=sorted({d["user_id"] for d in on}))
    for doc in changed:
        if not edges.is_on(doc):
            author = authors.get(doc["tweet_id"], "")
            await taken_back(svc, doc["tweet_id"], author, repost_id=doc["_id"])
        elif (tweet := originals.get(doc["tweet_id"])) is not None:
            if (reposter := reposters.get(doc["user_id"])) is not None:
                await _push(svc, tweet, doc["_id"], reposter)


async def _push(svc: Services, tweet: Tweet, repost_id: ObjectId, reposter: UserRecord) -> None:
    """Into the reposter's own timeline, and their followers' unless they are pulled."""
    fans: list[str] = []
    if timelines.pushed(svc, reposter):
        fans = (await follow_store.followers_of(svc.db, followees=[reposter.id]))[reposter.id]
    readers = await _readers(svc, [reposter.id, *fans], author=tweet.user_id, reposter=reposter.id)
    shown = tweet.model_copy(
        update={
            "reposted_by": RepostedBy(
                user_id=reposter.id,
                user_name=reposter.user_name,
                display_name=reposter.user_metadata.display_name,
            )
        }
    )
    event = TweetCreated(data=shown)
    original = ObjectId(tweet.tweet_id)
    for chunk in timelines.chunks(readers):
        owners = await repost_claims.claim(
            svc.db,
            owners=chunk,
            tweet_id=tweet.tweet_id,
            repost_id=repost_id,
            reposter=reposter.id,
        )
        if owners:
            await svc.timelines.push(
                owners=owners, tweet_id=repost_id, author=reposter.id, original=original
            )
            await svc.publish([home_stream(o) for o in owners], event)


async def _readers(
    svc: Services, candidates: list[str], *, author: str, reposter: str
) -> list[str]:
    """The candidates whose home should show the repost: not the author or their followers
    (they have the tweet already), nobody who blocks or mutes, or is blocked by, either user."""
    skip = {author}
    skip.update(await follow_store.followers_among(svc.db, followee=author, candidates=candidates))
    related = await relation_store.related_to(svc.db, users=candidates, others=[author, reposter])
    skip.update(related)
    return [c for c in dict.fromkeys(candidates) if c not in skip]


async def taken_back(
    svc: Services, tweet_id: str, author: str, *, repost_id: ObjectId | None = None
) -> None:
    """An un-repost (``repost_id``) or a deleted or hidden original (every repost): the
    entries leave the timelines that hold them, and their open home streams hear of it."""
    held = await repost_claims.holders(svc.db, tweet_id=tweet_id, repost_id=repost_id)
    event = TweetDeleted(data=TweetDeletedData(tweet_id=tweet_id, user_id=author))
    for rid, owners in held.items():
        for chunk in timelines.chunks(owners):
            await svc.timelines.remove_tweet(owners=chunk, tweet_id=rid)
            await svc.publish([home_stream(o) for o in chunk], event)
    await repost_claims.release(svc.db, tweet_id=tweet_id, repost_id=repost_id)
