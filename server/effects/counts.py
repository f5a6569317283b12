"""Effect: ``tweet.counts`` on ``tweet:<id>`` after a tweet's like, reply or repost count moved."""

from __future__ import annotations

from bson import ObjectId

from realtime.channels import tweet_stream

from .. import tweetcache
from ..events import TweetCounts, TweetCountsData
from ..services import Services
from ..store import tweets as tweet_store


async def announce(svc: Services, tweet_ids: list[str]) -> None:
    """Read these tweets once, with their new counters, in place of their cached copies
    (``tweetcache.refreshed``), and push the counters to everyone watching each tweet (one
    publish)."""
    ids = sorted({ObjectId(t) for t in tweet_ids if ObjectId.is_valid(t)})
    if not ids:
        return
    tweets = await tweetcache.refreshed(svc.tweet_cache, svc.db, ids)
    if rest := sorted(set(ids) - {ObjectId(t.tweet_id) for t in tweets}):  # hidden ones
        tweets += await tweet_store.counts(svc.db, tweet_ids=rest)
    await svc.publish_many([
        ([tweet_stream(t.tweet_id)], TweetCounts(data=TweetCountsData(
            tweet_id=t.tweet_id, user_id=t.user_id, like_count=t.like_count,
            reply_count=t.reply_count, repost_count=t.repost_count, quote_count=t.quote_count,
        )), None)
        for t in tweets
    ])  # fmt: skip
