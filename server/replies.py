"""Replies (comments): a reply is a tweet with ``in_reply_to``; the parent counts them."""

from __future__ import annotations

from bson import ObjectId

from . import tweets
from .accounts import Caller
from .errors import Forbidden, NotFound
from .models import Tweet
from .paging import PageQuery
from .services import Services
from .social import blocked_authors, blocked_between, unseen_authors
from .store import tweets as tweet_store


async def reply(
    svc: Services,
    caller: Caller,
    parent_id: str,
    content: str,
    idempotency_key: str | None = None,
) -> Tweet:
    """Post a reply; 404 when the parent does not exist (or was deleted). The parent's
    count, its ``reply.created`` event and the notification follow from the worker."""
    tweets.checked_content(svc, content)  # a bad body is a 422 before anything else
    parent = await tweets.get(svc, parent_id)
    if await blocked_between(svc, caller.id, parent.user_id):
        raise Forbidden("You cannot reply to this tweet.", code="blocked")
    child, _ = await tweets.compose(
        svc, caller, content, in_reply_to=parent.tweet_id, idempotency_key=idempotency_key
    )
    return child


async def comments(
    svc: Services, caller: Caller | None, parent_id: str, page: PageQuery
) -> tuple[list[Tweet], ObjectId | None]:
    """Direct replies, oldest first, without those by users the caller blocks, is blocked by
    or mutes. A deleted parent's replies stay readable; a blocked author's tweet is a 404."""
    hidden = await unseen_authors(svc, caller, muted=True)
    items, after = await tweet_store.find_page(
        svc.db,
        query={"links": tweet_store.reply_link(parent_id)},
        page=page,
        oldest_first=True,
        exclude_authors=hidden,
    )
    if not items and page.after is None and page.skip == 0:
        await tweets.get(svc, parent_id)  # an unknown tweet (with no replies) is a 404
    if caller is not None and hidden and ObjectId.is_valid(parent_id):
        parent = await tweet_store.get(svc.db, tweet_id=ObjectId(parent_id))
        if parent is not None and parent.user_id in await blocked_authors(svc, caller.id):
            raise NotFound("No such tweet.", code="tweet_not_found")
    return items, after
