"""Profiles as the routes show them: a user by id or by name, the caller's own changes,
and lists of people — followers, following, the caller's blocks and mutes, a tweet's likers.

Each list is a page of edges, newest first, turned into public profiles with one read of
the users it names (accounts deleted since are left out: a page may be one short).
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from .accounts import Caller, current_user
from .errors import NotFound
from .models import PublicUser
from .paging import PageQuery
from .services import Services
from .store import follows as follow_store
from .store import likes as like_store
from .store import relations as relation_store
from .store import users as user_store
from .store.relations import Kind
from .store.users import UserRecord

UserPage = tuple[list[PublicUser], ObjectId | None]


async def followers(svc: Services, user: UserRecord, page: PageQuery) -> UserPage:
    """Who follows ``user``."""
    ids, after = await follow_store.page(svc.db, field="followee", user_id=user.id, page=page)
    return await _profiles(svc, ids), after


async def following(svc: Services, user: UserRecord, page: PageQuery) -> UserPage:
    """Whom ``user`` follows."""
    ids, after = await follow_store.page(svc.db, field="follower", user_id=user.id, page=page)
    return await _profiles(svc, ids), after


async def relations(svc: Services, who: Caller, kind: Kind, page: PageQuery) -> UserPage:
    """The users the caller blocked (``block``) or muted (``mute``)."""
    ids, after = await relation_store.page(svc.db, owner=who.id, kind=kind, page=page)
    return await _profiles(svc, ids), after


async def likers(svc: Services, tweet_id: str, page: PageQuery) -> UserPage:
    """Who liked a tweet (the caller has already been shown it: ``tweets.visible``)."""
    ids, after = await like_store.page(svc.db, tweet_id=tweet_id, page=page)
    return await _profiles(svc, ids), after


async def by_id(svc: Services, user_id: str) -> UserRecord:
    """A user who has not deleted their account, from the per-process user cache when it
    runs (``server/authcache.py``); ``NotFound`` otherwise."""
    user = await (svc.auth.user(user_id) if svc.auth else user_store.by_id(svc.db, user_id=user_id))
    return _existing(user)


async def by_name(svc: Services, user_name: str) -> UserRecord:
    """A user by name (case as stored), as ``by_id``."""
    return _existing(await user_store.by_name(svc.db, user_name=user_name))


async def name_taken(svc: Services, user_name: str) -> bool:
    """Whether a user name is in use (any case)."""
    return await user_store.name_taken(svc.db, user_name=user_name)


async def update_own(svc: Services, who: Caller, changes: dict[str, Any]) -> UserRecord:
    """The caller's profile changes (``ProfileChanges`` fields; None removes one, a
    ``dm_policy`` of None leaves it), seen by every process's user cache at once."""
    changes = dict(changes)
    policy = changes.pop("dm_policy", None)
    me = await current_user(svc, who)
    user = await user_store.update_metadata(
        svc.db,
        user_id=who.id,
        user_name=me.user_name,
        changes=changes,
        fields={"dm_policy": policy} if policy else None,
    )
    await svc.users_changed([who.id])
    return user


def _existing(user: UserRecord | None) -> UserRecord:
    if user is None or user.deleted:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def _profiles(svc: Services, ids: list[str]) -> list[PublicUser]:
    found = await user_store.by_ids(svc.db, user_ids=ids)
    return [found[i].public() for i in ids if i in found]
