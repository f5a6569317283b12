"""Tweets: compose, edit with history, delete, read.

An edit, delete or hide is one database write: the tweet's document changes and is marked
pending, which is its outbox entry. A new tweet is stored after an outbox entry of its own
(shared with the concurrent requests' tweets: ``store/intents.py``). What follows
(counters, search, trending, notifications, followers' timelines) is applied by the outbox
worker (``server/outbox.py`` → ``server/effects/tweets.py``). Only the author's own streams
hear of it from here, right after the write is stored, so the author sees it at once (a
new tweet together with those of concurrent requests: ``announce_own``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from bson import ObjectId

from realtime.channels import (
    hashtag_stream,
    home_stream,
    public_stream,
    tweet_stream,
    user_stream,
)

from . import markdown, media, pages, social, tweetcache
from .accounts import Caller
from .batching import Waiting
from .errors import Conflict, Forbidden, NotFound
from .events import TweetCreated, TweetDeleted, TweetDeletedData, TweetUpdated
from .ids import tweet_oid
from .models import Tweet, TweetEdit, TweetHistory
from .search.analyzer import index_fields
from .services import Services
from .store import tweets as tweet_store


def checked_content(svc: Services, content: str) -> str:
    """The tweet text stripped, or 422 when empty or over the length limit."""
    return markdown.checked_text(content, svc.settings.tweet_max_chars, "tweet")


async def compose(
    svc: Services,
    caller: Caller,
    content: str,
    in_reply_to: str | None = None,
    idempotency_key: str | None = None,
    quote_of: str | None = None,
    media_ids: list[str] | None = None,
) -> tuple[Tweet, bool]:
    """Post a tweet (or a reply): store it with its pending effects and announce it on the
    author's streams. A retry with the same ``idempotency_key`` returns the first tweet
    (``created`` False) and writes nothing. ``media_ids``: up to four of the caller's
    unattached uploads, claimed for the tweet's id (chosen here) before it is stored."""
    text = checked_content(svc, content)
    if in_reply_to:  # replies have their own (larger) budget
        await svc.limits.hit(svc.settings.rate_limit_reply, "reply", caller.id)
    else:
        await svc.limits.hit(svc.settings.rate_limit_tweet, "tweet", caller.id)
    rendered = markdown.render(text)
    extra = _derived(text, rendered)
    if quote_of is not None:
        # A compact copy of the quoted tweet's author and id; the rest is read when shown.
        quoted = await visible(svc, caller, quote_of)
        extra["quote_of"] = {
            "tweet_id": quoted.tweet_id, "user_id": quoted.user_id, "user_name": quoted.user_name,
        }  # fmt: skip
    tweet_id = ObjectId()
    if media_ids:
        if idempotency_key is not None:  # a retry: its images belong to the first tweet
            first = await tweet_store.by_idempotency_key(
                svc.db, user_id=caller.id, key=idempotency_key, now=svc.clock()
            )
            if first is not None:
                return first, False
        extra["media"] = await media.claim(svc, caller, media_ids, tweet_id)
    try:
        tweet, created = await tweet_store.insert(
            svc.db,
            tweet_id=tweet_id,
            user_id=caller.id,
            user_name=caller.user.user_name,
            content=text,
            html=rendered.html,
            tags=rendered.tags,
            mentions=rendered.mentions,
            now=svc.clock(),
            in_reply_to=in_reply_to,
            extra=extra,
            idempotency_key=idempotency_key,
            grouped=svc.inserts,
        )
    except Exception:
        if media_ids:
            await media.release(svc, tweet_id)
        raise
    if media_ids and not created:
        await media.release(svc, tweet_id)  # the key's first tweet was returned instead
    if created:
        svc.written()
    # Also on a retry: the process that stored the tweet may have died before announcing it
    # (the client's retry is what brings it here).
    await svc.batches.submit("own-tweets", (tweet, created), partial(announce_own, svc))
    return tweet, created


async def announce_own(svc: Services, batch: list[Waiting]) -> None:
    """New tweets of concurrent requests (``(tweet, created)``), at once for their authors:
    into the recent-id sets (so the next read has them), then on the authors' own streams
    (``author_streams``; their followers' come from the outbox worker). However many they
    are, one Redis round trip for the sets and three for the events (``publish_many``);
    the once keys announce a retried POST's tweet only once."""
    tweets = [tweet for (tweet, _), _ in batch]
    await pages.at_once(svc, pages.shown, [tweet for (tweet, created), _ in batch if created])
    await svc.publish_many(
        [
            (author_streams(t), TweetCreated(data=t), f"tweet:{t.tweet_id}:v1:tweet.created:author")
            for t in tweets
        ]
    )


def _derived(text: str, rendered: markdown.Rendered) -> dict[str, Any]:
    """What a tweet's text gives it besides its HTML, tags and mentions: its links and its
    search fields (set on create and on every edit)."""
    return {"urls": rendered.urls, **index_fields(text, rendered.tags, rendered.mentions)}


def author_streams(tweet: Tweet) -> list[str]:
    """The streams a change of the author's own tweet is published on from the request:
    the author's home and profile, the public timeline and its hashtags (an edit or delete
    also on the tweet's own stream)."""
    return [
        home_stream(tweet.user_id),
        user_stream(tweet.user_id),
        public_stream(),
        *(hashtag_stream(t) for t in tweet.tags),
    ]


async def get(svc: Services, tweet_id: str) -> Tweet:
    """A visible tweet by id (from the tweet cache when warm), or 404 ``tweet_not_found``."""
    return the_one(await tweetcache.hydrate(svc.tweet_cache, svc.db, [tweet_oid(tweet_id)]))


def the_one(found: list[Tweet]) -> Tweet:
    """The tweet a read by one id found, or 404 ``tweet_not_found``."""
    if not found:
        raise NotFound("No such tweet.", code="tweet_not_found")
    return found[0]


async def visible(svc: Services, caller: Caller | None, tweet_id: str) -> Tweet:
    """A tweet as ``caller`` may read it: 404 (as if missing) when either blocks the other."""
    return await readable(svc, caller, await get(svc, tweet_id))


async def readable(svc: Services, caller: Caller | None, tweet: Tweet) -> Tweet:
    """``tweet``, when ``caller`` may read it: 404 (as if missing) when either blocks the
    other."""
    if tweet.user_id in await social.unseen_authors(svc, caller, muted=False):
        raise NotFound("No such tweet.", code="tweet_not_found")
    return tweet


async def own(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """A tweet the caller wrote, or 403 ``not_author`` (404 when missing)."""
    tweet = await get(svc, tweet_id)
    if tweet.user_id != caller.id:
        raise Forbidden("Only the author can change this tweet.", code="not_author")
    return tweet


async def edit(
    svc: Services, caller: Caller, tweet_id: str, content: str, base: Tweet | None = None
) -> Tweet:
    """Replace the text, keeping history. ``base`` is the version the editor saw (read now when
    not given): the update lands only while the stored text is still that version's (409)."""
    text = checked_content(svc, content)
    current = base or await own(svc, caller, tweet_id)
    if text == current.content:
        return current
    rendered = markdown.render(text)
    quoted = current.quote_of.tweet_id if current.quote_of else None
    updated = await tweet_store.edit(
        svc.db,
        tweet_id=tweet_oid(tweet_id),
        previous=current.content,
        content=text,
        html=rendered.html,
        tags=rendered.tags,
        links=tweet_store.links(rendered.tags, current.in_reply_to, quoted),
        mentions=rendered.mentions,
        now=svc.clock(),
        extra=_derived(text, rendered),
    )
    if updated is None:
        # Deleted (404 from get) or edited by a concurrent request since we read it.
        await get(svc, tweet_id)
        raise Conflict("The tweet changed while you were editing; reload it.", code="tweet_changed")
    svc.written()
    await svc.tweets_changed([updated.tweet_id])
    streams = [*author_streams(updated), tweet_stream(updated.tweet_id)]
    await svc.publish(streams, TweetUpdated(data=updated))
    return updated


async def history(svc: Services, caller: Caller | None, tweet_id: str) -> TweetHistory:
    """The original text and every edit, as the caller may read them."""
    doc = await tweet_store.history(svc.db, tweet_id=tweet_oid(tweet_id))
    blocked = await social.unseen_authors(svc, caller, muted=False)
    if doc is None or doc["user_id"] in blocked:
        raise NotFound("No such tweet.", code="tweet_not_found")
    return TweetHistory(
        tweet_id=tweet_id,
        original_content=doc.get("original_content") or doc["content"],
        edits=[TweetEdit(**e) for e in doc.get("edits", [])],
    )


async def delete(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Delete the caller's tweet: gone from every read at once; counters, search, trending
    and followers' timelines follow from the worker."""
    tweet = await own(svc, caller, tweet_id)
    if await tweet_store.delete(svc.db, tweet_id=tweet_oid(tweet_id), now=svc.clock()):
        svc.written()
        await svc.tweets_changed([tweet.tweet_id])
        await announce_gone(svc, tweet)
    return tweet


async def announce_gone(svc: Services, tweet: Tweet) -> None:
    """Deleted or hidden: the author's streams drop it now (followers' via the worker)."""
    await pages.at_once(svc, pages.gone, [tweet])
    data = TweetDeletedData(tweet_id=tweet.tweet_id, user_id=tweet.user_id)
    streams = [*author_streams(tweet), tweet_stream(tweet.tweet_id)]
    await svc.publish(streams, TweetDeleted(data=data))
