"""Moderation: reports, the review queue, hiding tweets and suspending accounts.

Roles rank ``user`` < ``moderator`` < ``admin``. Moderators review and act; only admins
change roles or act on other moderators.
"""

from __future__ import annotations

import logging

from bson import ObjectId

from . import pages, tweets
from .accounts import Caller
from .errors import Forbidden, NotFound, Unprocessable
from .events import TweetCreated
from .ids import parse_id, tweet_oid
from .models import Role, Tweet
from .paging import PageQuery
from .services import Services
from .store import reports as report_store
from .store import sessions as session_store
from .store import tweets as tweet_store
from .store import users as user_store
from .store.reports import Report, Status
from .store.users import UserRecord

log = logging.getLogger("murmur.moderation")

RANK: dict[str, int] = {"user": 0, "moderator": 1, "admin": 2}


def require(caller: Caller, role: Role) -> None:
    """403 unless the caller has ``role`` or a higher one."""
    if RANK[caller.user.role] < RANK[role]:
        raise Forbidden(f"Only a {role} can do this.", code=f"{role}_only")


async def report(svc: Services, caller: Caller, tweet_id: str, reason: str) -> Report:
    """File a report on a visible tweet; 409 on a second report by the same user."""
    tweet = await tweet_store.get(svc.db, tweet_id=tweet_oid(tweet_id))
    if tweet is None:
        raise NotFound("No such tweet.", code="tweet_not_found")
    return await report_store.file(
        svc.db, tweet_id=tweet.tweet_id, reporter_id=caller.id, reason=reason, now=svc.clock()
    )


async def queue(
    svc: Services, caller: Caller, status: Status, page: PageQuery
) -> tuple[list[Report], ObjectId | None]:
    """Reports by status, oldest first, each with its tweet (hidden ones included)."""
    require(caller, "moderator")
    items, after = await report_store.page(svc.db, status=status, page=page)
    for item in items:
        item.tweet = await tweet_store.get(
            svc.db, tweet_id=ObjectId(item.tweet_id), include_hidden=True
        )
    return items, after


async def dismiss(svc: Services, caller: Caller, report_id: str) -> Report:
    """Close an open report without action (moderators)."""
    require(caller, "moderator")
    done = await report_store.dismiss(
        svc.db,
        report_id=parse_id(report_id, "open report", code="report_not_found"),
        by=caller.id,
        now=svc.clock(),
    )
    if done is None:
        raise NotFound("No such open report.", code="report_not_found")
    return done


async def hide(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Hide a tweet everywhere (timelines, search, trending, live streams). Idempotent."""
    require(caller, "moderator")
    oid = tweet_oid(tweet_id)
    tweet = await tweet_store.set_hidden(
        svc.db, tweet_id=oid, hidden=True, by=caller.id, now=svc.clock()
    )
    if tweet is None:
        return await _existing(svc, oid)
    svc.written()  # the worker takes it out of search, trending and followers' timelines
    await svc.tweets_changed([tweet.tweet_id])
    await report_store.resolve_for_tweet(
        svc.db, tweet_id=tweet.tweet_id, by=caller.id, action="hidden", now=svc.clock()
    )
    # Open timelines drop it, exactly as for a deletion.
    await tweets.announce_gone(svc, tweet)
    log.info("tweet %s hidden by %s", tweet.tweet_id, caller.user.user_name)
    return tweet


async def restore(svc: Services, caller: Caller, tweet_id: str) -> Tweet:
    """Make a hidden tweet visible again. Idempotent."""
    require(caller, "moderator")
    oid = tweet_oid(tweet_id)
    tweet = await tweet_store.set_hidden(
        svc.db, tweet_id=oid, hidden=False, by=caller.id, now=svc.clock()
    )
    if tweet is None:
        return await _existing(svc, oid)
    svc.written()  # the worker puts it back into search, trending and timelines
    await svc.tweets_changed([tweet.tweet_id])
    await pages.at_once(svc, pages.shown, [tweet])
    await svc.publish(tweets.author_streams(tweet), TweetCreated(data=tweet))
    log.info("tweet %s restored by %s", tweet.tweet_id, caller.user.user_name)
    return tweet


async def suspend(svc: Services, caller: Caller, user_id: str) -> UserRecord:
    """Suspend an account: it cannot sign in or post, and every session (and socket) ends."""
    target = await _target(svc, caller, user_id, "suspend")
    await user_store.set_suspended(svc.db, user_id=target.id, suspended=True)
    await svc.users_changed([target.id])
    ended = await session_store.revoke_user_sessions(svc.db, user_id=target.id, now=svc.clock())
    if svc.on_session_revoked:
        for session_id in ended:
            await svc.on_session_revoked(session_id)
    log.info("%s suspended by %s", target.user_name, caller.user.user_name)
    return target.model_copy(update={"suspended": True})


async def unsuspend(svc: Services, caller: Caller, user_id: str) -> UserRecord:
    """Let a suspended account sign in again (moderators)."""
    target = await _target(svc, caller, user_id, "unsuspend")
    await user_store.set_suspended(svc.db, user_id=target.id, suspended=False)
    await svc.users_changed([target.id])
    return target.model_copy(update={"suspended": False})


async def set_role(svc: Services, caller: Caller, user_id: str, role: Role) -> UserRecord:
    """Admins only: make a user a moderator or admin (or back)."""
    require(caller, "admin")
    target = await _user(svc, user_id)
    if target.id == caller.id:
        raise Unprocessable("You cannot change your own role.", code="cannot_change_own_role")
    await user_store.set_role(svc.db, user_id=target.id, role=role)
    await svc.users_changed([target.id])
    return target.model_copy(update={"role": role})


async def _target(svc: Services, caller: Caller, user_id: str, verb: str) -> UserRecord:
    require(caller, "moderator")
    target = await _user(svc, user_id)
    if target.id == caller.id:
        raise Unprocessable(f"You cannot {verb} yourself.", code=f"cannot_{verb}_self")
    if RANK[target.role] >= RANK[caller.user.role]:
        raise Forbidden(f"Only an admin can {verb} a {target.role}.", code="outranked")
    return target


async def _user(svc: Services, user_id: str) -> UserRecord:
    user = await user_store.by_id(svc.db, user_id=user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def _existing(svc: Services, oid: ObjectId) -> Tweet:
    """Already in the wanted state (the action is idempotent), or 404."""
    tweet = await tweet_store.get(svc.db, tweet_id=oid, include_hidden=True)
    if tweet is None:
        raise NotFound("No such tweet.", code="tweet_not_found")
    return tweet
