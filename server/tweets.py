"""Tweets: compose, edit with history, delete, read."""

from __future__ import annotations

from . import discovery, markdown, social, tweet_hooks, tweetcache
from .accounts import Caller
from .errors import Conflict, Forbidden, NotFound, Unprocessable
from .ids import tweet_oid
from .models import Tweet, TweetEdit, TweetHistory
from .services import Services
from .store import tweets as tweet_store
from .store import users as user_store


def checked_content(svc: Services, content: str) -> str:
    """The tweet text stripped, or 422 when empty or over the length limit."""
    text = content.strip()
    limit = svc.settings.tweet_max_chars
    if not text:
        raise Unprocessable("A tweet needs some text.", code="tweet_empty")
    if len(text) > limit:
        raise Unprocessable(
            f"A tweet is at most {limit} characters; this one has {len(text)}.",
            code="tweet_too_long",
            details=[{"field": "content", "max_length": limit, "length": len(text)}],
        )
    return text


async def compose(
    svc: Services, caller: Caller, content: str, in_reply_to: str | None = None
) -> Tweet:
    """Post a tweet (or a reply): store it, count it, index it, announce it."""
    text = checked_content(svc, content)
    if in_reply_to:  # replies have their own (larger) budget
        await svc.limits.hit(svc.settings.rate_limit_reply, "reply", caller.id)
    else:
        await svc.limits.hit(svc.settings.rate_limit_tweet, "tweet", caller.id)
    rendered = markdown.render(text)
    tweet = await tweet_store.insert(
        svc.db,
        user_id=caller.id,
        user_name=caller.user.user_name,
        content=text,
        html=rendered.html,
        tags=rendered.tags,
        mentions=rendered.mentions,
        now=svc.clock(),
        in_reply_to=in_reply_to,
        extra=discovery.search_fields(text, rendered.tags, rendered.mentions),
    )
    await user_store.add_to_counter(svc.db, user_id=caller.id, field="tweet_count", delta=1)
    await svc.users_changed([caller.id], counts_only=True)
    await discovery.tweet_created(svc, tweet)
    await tweet_hooks.created(svc, caller.user, tweet)
    return tweet


async def get(svc: Services, tweet_id: str) -> Tweet:
    """A visible tweet by id (from the tweet cache when warm), or 404 ``tweet_not_found``."""
    found = await tweetcache.hydrate(svc.tweet_cache, svc.db, [tweet_oid(tweet_id)])
    if not found:
        raise NotFound("No such tweet.", code="tweet_not_found")
    return found[0]


async def visible(svc: Services, caller: Caller | None, tweet_id: str) -> Tweet:
    """A tweet as ``caller`` may read it: 404 (as if missing) when either blocks the other."""
    tweet = await get(svc, tweet_id)
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
    updated = await tweet_store.edit(
        svc.db,
        tweet_id=tweet_oid(tweet_id),
        previous=current.content,
        content=text,
        html=rendered.html,
        tags=rendered.tags,
        mentions=rendered.mentions,
        now=svc.clock(),
        extra=discovery.search_fields(text, rendered.tags, rendered.mentions),
    )
    if updated is None:
        # Deleted (404 from get) or edited by a concurrent request since we read it.
        await get(svc, tweet_id)
        raise Conflict("The tweet changed while you were editing; reload it.", code="tweet_changed")
    await svc.tweets_changed([updated.tweet_id])
    await discovery.tweet_edited(svc, current, updated)
    await tweet_hooks.updated(svc, updated)
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
    """Delete the caller's tweet: counters, search, trending and open timelines follow."""
    tweet = await own(svc, caller, tweet_id)
    replies = await tweet_store.delete(svc.db, tweet_id=tweet_oid(tweet_id))
    if replies is not None:
        await svc.tweets_changed([tweet.tweet_id, *replies])
        await user_store.add_to_counter(
            svc.db, user_id=tweet.user_id, field="tweet_count", delta=-1
        )
        await svc.users_changed([tweet.user_id], counts_only=True)
        await discovery.tweet_removed(svc, tweet)
        await tweet_hooks.deleted(svc, tweet)
    return tweet
