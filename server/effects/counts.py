"""Effect: ``tweet.counts`` on ``tweet:<id>`` after a tweet's like, reply or repost count moved."""

from __future__ import annotations

from bson import ObjectId

from realtime.channels import tweet_stream

from ..events import TweetCounts, TweetCountsData
from ..services import Services
from ..store import tweets as tweet_store


async def announce(svc: Services, tweet_ids: list[str]) -> None:
    """Read these tweets' counters once and push them to everyone watching each tweet."""
    ids = sorted({ObjectId(t) for t in tweet_ids if ObjectId.is_valid(t)})
    if not ids:
        return
    await svc.tweets_changed([str(t) for t in ids])
    for tweet in await tweet_store.counts(svc.db, tweet_ids=ids):
        data = TweetCountsData(
            tweet_id=tweet.tweet_id,
            user_id=tweet.user_id,
            like_count=tweet.like_count,
            reply_count=tweet.reply_count,
            repost_count=tweet.repost_count,
            quote_count=tweet.quote_count,
        )
        await svc.publish([tweet_stream(tweet.tweet_id)], TweetCounts(data=data))
