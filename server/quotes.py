"""Quote tweets: a tweet with ``quote_of`` (a compact copy of the quoted tweet's author and
id, stored with it). Reads embed the quoted tweet as the reader may see it now; the quoted
tweet's ``quote_count`` and the ``quote`` notification come from the outbox worker
(``server/effects/tweets.py``)."""

from __future__ import annotations

from bson import ObjectId

from . import social, tweetcache, tweets
from .accounts import Caller
from .models import QuotedTweet, Tweet
from .paging import PageQuery
from .services import Services
from .store import tweets as tweet_store


async def embed(svc: Services, caller: Caller | None, items: list[Tweet]) -> list[Tweet]:
    """Fill in each quote's quoted tweet (one batched read for a page): its text when the
    reader may see it, else ``unavailable`` without its author."""
    wanted = {r.tweet_id for t in items if (r := t.quote_of) and ObjectId.is_valid(r.tweet_id)}
    if not wanted:
        return items
    found = await tweetcache.hydrate(svc.tweet_cache, svc.db, [ObjectId(i) for i in sorted(wanted)])
    blocked = await social.unseen_authors(svc, caller, muted=False)
    seen = {t.tweet_id: t for t in found if t.user_id not in blocked}
    out = []
    for t in items:
        if t.quote_of is None:
            out.append(t)
            continue
        q = seen.get(t.quote_of.tweet_id)
        quoted = (
            QuotedTweet(tweet_id=t.quote_of.tweet_id, unavailable=True)
            if q is None
            else QuotedTweet(
                tweet_id=q.tweet_id,
                user_id=q.user_id,
                user_name=q.user_name,
                content=q.content,
                html=q.html,
                created_at=q.created_at,
            )
        )
        out.append(t.model_copy(update={"quote_of": quoted}))
    return out


async def page(
    svc: Services, caller: Caller | None, tweet_id: str, page: PageQuery
) -> tuple[list[Tweet], ObjectId | None]:
    """The quotes of a tweet the caller may see, newest first (blocked authors left out)."""
    quoted = await tweets.visible(svc, caller, tweet_id)
    exclude = await social.unseen_authors(svc, caller, muted=False)
    return await tweet_store.find_page(
        svc.db,
        query={"links": tweet_store.quote_link(quoted.tweet_id)},
        page=page,
        exclude_authors=exclude,
    )
