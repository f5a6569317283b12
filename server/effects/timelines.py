"""Effect: followers' stored home timelines and their ``home:<id>`` streams.

Hybrid fan-out: an ordinary author's tweet is written into every follower's stored timeline
(and the author's own) and announced on each follower's home stream; an author above
``FANOUT_MAX_FOLLOWERS`` is pulled at read time instead (``server/timeline.py``), and sockets
watching them follow ``user:<id>``. Every write is idempotent (one entry per owner and
tweet), so a retried batch never duplicates.
"""

from __future__ import annotations

from bson import ObjectId

from realtime.channels import home_stream

from .. import pages
from ..events import TweetCreated, TweetDeleted, TweetDeletedData, TweetUpdated
from ..models import Tweet
from ..services import Services
from ..store import follows as follow_store
from ..store import tweets as tweet_store
from ..store.users import UserRecord

BATCH = 1000  # followers per timeline write and per published event


def pushed(svc: Services, author: UserRecord | None) -> bool:
    """Whether the author's tweets are pushed to followers (else pulled at read time). The
    worker asks with the author's record as it is now (a cached set could be stale)."""
    return author is not None and author.follower_count <= svc.settings.fanout_max_followers


async def shown(svc: Services, tweet: Tweet, *, push: bool) -> None:
    """A tweet became visible (posted, or restored by a moderator): into every timeline."""
    author, tid = tweet.user_id, ObjectId(tweet.tweet_id)
    await pages.shown(svc, tweet)
    await svc.timelines.push(owners=[author], tweet_id=tid, author=author)
    if not push:
        return
    event = TweetCreated(data=tweet)
    async for owners, _ in follow_store.follower_batches(
        svc.db, followee=author, after=None, size=BATCH
    ):
        await svc.timelines.push(owners=owners, tweet_id=tid, author=author)
        await svc.publish([home_stream(o) for o in owners], event)


async def edited(svc: Services, tweet: Tweet, *, push: bool) -> None:
    """An edit: open home timelines of followers replace the card."""
    if push:
        await _announce(svc, tweet.user_id, TweetUpdated(data=tweet))


async def gone(svc: Services, tweet: Tweet) -> None:
    """Deleted or hidden: out of every stored timeline, and off every open one."""
    tweet_id, author, tid = tweet.tweet_id, tweet.user_id, ObjectId(tweet.tweet_id)
    await pages.gone(svc, tweet)
    await svc.timelines.remove_tweet(owners=[author], tweet_id=tid)
    event = TweetDeleted(data=TweetDeletedData(tweet_id=tweet_id, user_id=author))
    async for owners, _ in follow_store.follower_batches(
        svc.db, followee=author, after=None, size=BATCH
    ):
        await svc.timelines.remove_tweet(owners=owners, tweet_id=tid)
        await svc.publish([home_stream(o) for o in owners], event)


async def _announce(svc: Services, author: str, event: TweetUpdated) -> None:
    async for owners, _ in follow_store.follower_batches(
        svc.db, followee=author, after=None, size=BATCH
    ):
        await svc.publish([home_stream(o) for o in owners], event)


async def followed(svc: Services, owner: str, author: str, *, push: bool) -> None:
    """A new follow: copy the author's recent tweets into the follower's stored timeline.

    Only tweets newer than the timeline's oldest entry: anything older is pulled from
    ``tweets`` at read time anyway, and this keeps the stored range complete."""
    if not push:
        return
    oldest = await svc.timelines.oldest_id(owner=owner)
    if oldest is None:
        return
    keep = svc.settings.timeline_max_entries
    ids = await tweet_store.since_ids(svc.db, author=author, after=oldest, limit=keep)
    await svc.timelines.backfill(owner=owner, author=author, tweet_ids=ids)


async def unfollowed(svc: Services, owner: str, author: str) -> None:
    """An unfollow: the author's tweets leave the follower's stored timeline."""
    await svc.timelines.remove_author(owner=owner, author=author)
