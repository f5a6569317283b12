"""What happens around a tweet's life for discovery and trust: the search index fields,
trending counts and the spam screen. ``server/tweets.py`` calls these hooks."""

from __future__ import annotations

from typing import Any

from . import spam, trending
from .models import Tweet
from .search.analyzer import index_fields
from .services import Services


def search_fields(content: str, tags: list[str], mentions: list[str]) -> dict[str, Any]:
    """Extra fields stored with a tweet (on create and on edit) so search finds it at once."""
    return index_fields(content, tags, mentions)


async def tweet_created(svc: Services, tweet: Tweet) -> None:
    await trending.tweet_counted(svc, tweet, +1)
    await spam.screen(svc, tweet)


async def tweet_edited(svc: Services, before: Tweet, after: Tweet) -> None:
    if before.tags != after.tags:
        await trending.tweet_retagged(svc, before, after)


async def tweet_removed(svc: Services, tweet: Tweet) -> None:
    """Deleted or hidden: its hashtags stop counting."""
    await trending.tweet_counted(svc, tweet, -1)


async def tweet_restored(svc: Services, tweet: Tweet) -> None:
    """A hidden tweet is back: its hashtags count again (no new engagement)."""
    await trending.tweet_tags_counted(svc, tweet, +1)
