"""Effect: followers' stored home timelines and their ``home:<id>`` streams.

Hybrid fan-out: an ordinary author's tweet is written into every follower's stored timeline
(and the author's own) and announced on each follower's home stream; an author above
``FANOUT_MAX_FOLLOWERS`` is pulled at read time instead (``server/timeline.py``), and sockets
watching them follow ``user:<id>``. Every write is idempotent (one entry per owner and
tweet), so a retried batch never duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from bson import ObjectId

from realtime.channels import home_stream

from .. import pages, timeline
from ..events import Announcement, TweetCreated, TweetDeleted, TweetDeletedData, TweetUpdated
from ..models import Tweet
from ..services import Services
from ..store import follows as follow_store
from ..store import repost_claims
from ..store import tweets as tweet_store
from ..store.timelines import Push, TimelinesUnavailable
from ..store.users import UserRecord

BATCH = 1000  # followers per timeline write and per published event


def pushed(svc: Services, author: UserRecord | None) -> bool:
    """Whether the author's tweets are pushed to followers (else pulled at read time). The
    worker asks with the author's record as it is now (a cached set could be stale)."""
    return author is not None and author.follower_count <= svc.settings.fanout_max_followers


Followers = dict[str, list[str]]  # author -> followers, read once per worker batch


async def followers(svc: Services, authors: list[str]) -> Followers:
    """The followers of a batch's pushed authors, in one query."""
    return await follow_store.followers_of(svc.db, followees=sorted(set(authors)))


def chunks(owners: list[str]) -> list[list[str]]:
    """Owners in batches of ``BATCH``: one timeline write and one published event each."""
    return [owners[i : i + BATCH] for i in range(0, len(owners), BATCH)]


def _once(tweet: Tweet, version: int, event: str) -> str:
    """Names one announcement of a tweet's change: a batch re-run after a worker crashed
    makes it again, and the publisher then sends it to nobody twice."""
    return f"tweet:{tweet.tweet_id}:v{version}:{event}"


class Shown(NamedTuple):
    """A tweet that became visible (posted, or restored by a moderator). ``fans``: the
    author's followers, or None for an author who is pulled, not pushed; ``version``: the
    tweet document's, which this change made."""

    tweet: Tweet
    fans: list[str] | None
    version: int


async def shown(svc: Services, batch: Sequence[Shown]) -> None:
    """Tweets that became visible: into every timeline, then announced on the home streams.
    A worker batch's tweets go together, ``BATCH`` timelines at a time: a timeline write
    (one round trip) and the announcements (one more), so each timeline has a tweet before
    its stream hears of it."""
    await pages.shown(svc, [s.tweet for s in batch])
    pushes: list[Push] = []
    events: list[Announcement] = []
    owners_queued = 0
    for tweet, fans, version in batch:
        author, tid = tweet.user_id, ObjectId(tweet.tweet_id)
        event, once = TweetCreated(data=tweet), _once(tweet, version, "tweet.created")
        # The author's own timeline goes with the first followers' write (the author's
        # stream heard of it from the request).
        for i, owners in enumerate(chunks(fans or []) or [[]]):
            pushes.append(Push([author, *owners] if i == 0 else owners, tid, author))
            owners_queued += len(pushes[-1].owners)
            if owners:
                events.append(([home_stream(o) for o in owners], event, once))
            if owners_queued >= BATCH:
                await _push_then_announce(svc, pushes, events)
                pushes, events, owners_queued = [], [], 0
    await _push_then_announce(svc, pushes, events)


async def _push_then_announce(
    svc: Services, pushes: list[Push], events: list[Announcement]
) -> None:
    if pushes:
        await svc.timelines.push_many(pushes)
    await svc.publish_many(events)


async def edited(svc: Services, tweet: Tweet, fans: list[str] | None, version: int) -> None:
    """An edit: open home timelines of followers replace the card."""
    event, once = TweetUpdated(data=tweet), _once(tweet, version, "tweet.updated")
    for owners in chunks(fans or []):
        await svc.publish([home_stream(o) for o in owners], event, once=once)


async def gone(svc: Services, tweet: Tweet, fans: list[str], version: int) -> None:
    """Deleted or hidden: out of every stored timeline, and off every open one (``fans`` is
    empty for a pulled author: their followers' timelines do not hold it)."""
    tweet_id, author, tid = tweet.tweet_id, tweet.user_id, ObjectId(tweet.tweet_id)
    await pages.gone(svc, [tweet])
    await svc.timelines.remove_tweet(owners=[author], tweet_id=tid)
    event = TweetDeleted(data=TweetDeletedData(tweet_id=tweet_id, user_id=author))
    once = _once(tweet, version, "tweet.deleted")
    for owners in chunks(fans):
        await svc.timelines.remove_tweet(owners=owners, tweet_id=tid)
        await svc.publish([home_stream(o) for o in owners], event, once=once)


async def followed(svc: Services, owner: str, author: str, *, push: bool) -> None:
    """A new follow: copy the author's recent tweets into the follower's stored timeline.

    A timeline not built yet (never read, or lost with its Redis) is built here, from
    durable state, this follow included: its first read then rebuilds nothing (32 readers'
    first reads after a busy hour took seconds). Else only tweets newer than its oldest
    entry (all of the author's recent ones when it is empty): anything older is pulled from
    ``tweets`` at read time anyway, and this keeps the stored range complete."""
    if not push:
        return
    try:
        loaded = await svc.timelines.ensure_built(
            owner=owner, rebuild=lambda: timeline.rebuild(svc, owner)
        )
    except TimelinesUnavailable:
        loaded = False  # a reader is rebuilding it: what is added meanwhile is kept
    if loaded:
        return
    oldest = await svc.timelines.oldest_id(owner=owner)
    keep = svc.settings.timeline_max_entries
    ids = await tweet_store.since_ids(svc.db, author=author, after=oldest, limit=keep)
    await svc.timelines.backfill(owner=owner, author=author, tweet_ids=ids)


async def unfollowed(svc: Services, owner: str, author: str) -> None:
    """An unfollow: the author's tweets and reposts leave the follower's stored timeline
    (the reposts' claims too, so another followee's repost of those tweets can show)."""
    await svc.timelines.remove_author(owner=owner, author=author)
    await repost_claims.release_owner(svc.db, owner=owner, reposter=author)
