"""What happens around a tweet's life for discovery and trust: the search index fields,
trending counts and the spam screen. ``server/tweets.py`` calls these hooks."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from . import spam, trending
from .models import Tweet
from .search.analyzer import index_fields
from .services import Services
from .store import postings


def search_fields(content: str, tags: list[str], mentions: list[str]) -> dict[str, Any]:
    """Extra fields stored with a tweet (on create and on edit) so search finds it at once."""
    return index_fields(content, tags, mentions)


async def _index(svc: Services, tweet: Tweet) -> None:
    """Keep the keyword back-end's postings in step (the ``$text`` index keeps itself)."""
    if svc.search_backend == "keyword":
        await postings.add(
            svc.db,
            tweet_id=ObjectId(tweet.tweet_id),
            created_at=tweet.created_at,
            user_id=tweet.user_id,
            terms=index_fields(tweet.content, tweet.tags, tweet.mentions)["terms"],
        )


async def _unindex(svc: Services, tweet: Tweet) -> None:
    if svc.search_backend == "keyword":
        await postings.remove(svc.db, tweet_id=ObjectId(tweet.tweet_id))


async def tweet_created(svc: Services, tweet: Tweet) -> None:
    """Index a new tweet for search and count its tags and mentions in trending."""
    await _index(svc, tweet)
    await trending.tweet_counted(svc, tweet, +1)
    await spam.screen(svc, tweet)


async def tweet_edited(svc: Services, before: Tweet, after: Tweet) -> None:
    """Re-index an edited tweet and move trending counts from old to new tags."""
    await _index(svc, after)
    if before.tags != after.tags:
        await trending.tweet_retagged(svc, before, after)


async def tweet_removed(svc: Services, tweet: Tweet) -> None:
    """Deleted or hidden: it leaves the search index and its hashtags stop counting."""
    await _unindex(svc, tweet)
    await trending.tweet_counted(svc, tweet, -1)


async def tweet_restored(svc: Services, tweet: Tweet) -> None:
    """A hidden tweet is back: searchable again, its hashtags count again (no new engagement)."""
    await _index(svc, tweet)
    await trending.tweet_tags_counted(svc, tweet, +1)
