"""What follows a tweet's creation, edit or deletion (called from ``server/tweets.py``):
timelines, live events, mention notifications, and the parent's reply count."""

from __future__ import annotations

from realtime.channels import tweet_stream

from . import notifications, timeline
from .events import TweetCounts, TweetCountsData
from .models import Tweet
from .services import Services
from .store import likes as like_store
from .store import tweets as tweet_store
from .store import users as user_store
from .store.users import UserRecord


async def created(svc: Services, author: UserRecord, tweet: Tweet) -> None:
    """What follows a new tweet: live events, the fan-out job, mention notifications."""
    await timeline.tweet_created(svc, tweet)
    for name in dict.fromkeys(tweet.mentions):
        user = await user_store.by_name(svc.db, user_name=name)
        if user is not None:
            await notifications.notify(
                svc, recipient=user.id, kind="mention", actor=author, tweet_id=tweet.tweet_id
            )


async def updated(svc: Services, tweet: Tweet) -> None:
    """What follows an edit: live events and the fan-out of the update."""
    await timeline.tweet_updated(svc, tweet)


async def deleted(svc: Services, tweet: Tweet) -> None:
    """What follows a delete: live events, timeline removal, its likes, the parent's count."""
    await timeline.tweet_deleted(svc, tweet)
    await like_store.remove_for_tweet(svc.db, tweet_id=tweet.tweet_id)
    if tweet.in_reply_to:
        parent = await tweet_store.add_to_counter(
            svc.db, tweet_id=tweet.in_reply_to, field="reply_count", delta=-1
        )
        await svc.tweets_changed([tweet.in_reply_to])
        if parent is not None:
            await publish_counts(svc, parent)


async def publish_counts(svc: Services, tweet: Tweet) -> None:
    """Push a tweet's like and reply counts to everyone watching it."""
    data = TweetCountsData(
        tweet_id=tweet.tweet_id,
        user_id=tweet.user_id,
        like_count=tweet.like_count,
        reply_count=tweet.reply_count,
    )
    await svc.publish([tweet_stream(tweet.tweet_id)], TweetCounts(data=data))
