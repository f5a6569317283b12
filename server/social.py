"""The social graph: follow, block, mute, and the cached relationship sets built from them.

A follow or unfollow is one write to its edge (``store/follows.py``); the counters, trending,
the notification and the follower's stored timeline follow from the outbox worker
(``server/effects/edges.py``)."""

from __future__ import annotations

from typing import Any

from .accounts import Caller
from .errors import Forbidden, NotFound, Unprocessable
from .models import Relationship
from .search.analyzer import words
from .services import Services
from .store import follows as follow_store
from .store import relations as relation_store
from .store import users as user_store
from .store.relations import Kind
from .store.users import UserRecord

_BIG = "big-authors"


async def target_user(svc: Services, caller: Caller, user_id: str, verb: str) -> UserRecord:
    """The other end of a relationship (from the users' cache when warm): 404 when unknown,
    422 when it is the caller."""
    if svc.auth is not None:
        user = await svc.auth.user(user_id, counts=False)
    else:
        user = await user_store.by_id(svc.db, user_id=user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    if user.id == caller.id:
        raise Unprocessable(f"You cannot {verb} yourself.", code=f"cannot_{verb}_self")
    return user


async def relationship(
    svc: Services, me: str, other: str, *, following: bool | None = None
) -> Relationship:
    """How ``me`` and ``other`` are related, from ``me``'s side (``following`` when the
    caller has just written it)."""
    rels = await relation_store.between(svc.db, a=me, b=other)
    have = {(r["owner"], r["kind"]) for r in rels}
    if following is None:
        following = await follow_store.exists(svc.db, follower=me, followee=other)
    return Relationship(
        user_id=other,
        following=following,
        followed_by=await follow_store.exists(svc.db, follower=other, followee=me),
        blocking=(me, "block") in have,
        blocked_by=(other, "block") in have,
        muting=(me, "mute") in have,
    )


async def blocked_between(svc: Services, a: str, b: str) -> bool:
    """Whether either user blocks the other (served from the cached hidden set)."""
    return b in await blocked_authors(svc, a)


async def unseen_authors(svc: Services, caller: Caller | None, *, muted: bool) -> frozenset[str]:
    """Authors whose tweets a read by ``caller`` leaves out (cached; nobody when signed out).

    Blocks (either way) hide tweets everywhere; mutes (``muted=True``) only in timelines:
    the home timeline and the public and hashtag lists, not a profile or a tweet read."""
    if caller is None:
        return frozenset()
    if muted:
        return await hidden_authors(svc, caller.id)
    return await blocked_authors(svc, caller.id)


async def follow(svc: Services, caller: Caller, user_id: str) -> Relationship:
    """Follow (idempotent): the edge, both counters, a notification and a back-fill, once."""
    user = await target_user(svc, caller, user_id, "follow")
    if await blocked_between(svc, caller.id, user.id):
        raise Forbidden("You cannot follow this user.", code="blocked")
    if not await follow_store.exists(svc.db, follower=caller.id, followee=user.id):
        # Only a new edge counts against the limit: following twice is a no-op.
        await svc.limits.hit(svc.settings.rate_limit_follow, "follow", caller.id)
    if await follow_store.add(svc.db, follower=caller.id, followee=user.id, now=svc.clock()):
        svc.written()
        forget_follows(svc, [caller.id, user.id])  # here at once; elsewhere by the broadcast
    return await relationship(svc, caller.id, user.id, following=True)


async def unfollow(svc: Services, caller: Caller, user_id: str) -> Relationship:
    """Unfollow (idempotent): the edge and counters go, the followee leaves the timeline."""
    user = await target_user(svc, caller, user_id, "follow")
    await _drop_edge(svc, caller.id, user.id)
    return await relationship(svc, caller.id, user.id, following=False)


async def set_relation(
    svc: Services, caller: Caller, user_id: str, kind: Kind, on: bool
) -> Relationship:
    """Block/unblock or mute/unmute. A block also removes the follows both ways."""
    user = await target_user(svc, caller, user_id, kind)
    if on:
        await relation_store.add(
            svc.db, owner=caller.id, kind=kind, target=user.id, now=svc.clock()
        )
    else:
        await relation_store.remove(svc.db, owner=caller.id, kind=kind, target=user.id)
    svc.social_cache.invalidate(f"hidden:{caller.id}", f"hidden:{user.id}")
    svc.social_cache.invalidate(f"blocks:{caller.id}", f"blocks:{user.id}")
    if svc.on_relations_changed:
        await svc.on_relations_changed([caller.id, user.id])
    if kind == "block" and on:
        await _drop_edge(svc, caller.id, user.id)
        await _drop_edge(svc, user.id, caller.id)
    return await relationship(svc, caller.id, user.id)


async def _drop_edge(svc: Services, follower: str, followee: str) -> None:
    if await follow_store.remove(svc.db, follower=follower, followee=followee):
        svc.written()
        forget_follows(svc, [follower, followee])  # here at once; elsewhere by the broadcast


async def hidden_authors(svc: Services, user_id: str) -> frozenset[str]:
    """Users whose tweets ``user_id`` must not see: blocked either way, plus muted.

    Served from a per-process cache (invalidated on block/mute changes made here, expiring
    after a few seconds for changes made by other processes)."""
    key = f"hidden:{user_id}"
    cached = svc.social_cache.get(key)
    if cached is not None:
        return cached
    hidden: set[str] = set()
    blocked: set[str] = set()
    for rel in await relation_store.involving(svc.db, user_id=user_id):
        other = rel["target"] if rel["owner"] == user_id else rel["owner"]
        hidden.add(other)
        if rel["kind"] == "block":
            blocked.add(other)
    value = frozenset(hidden)
    svc.social_cache.put(key, value)
    svc.social_cache.put(f"blocks:{user_id}", frozenset(blocked))
    return value


async def blocked_authors(svc: Services, user_id: str) -> frozenset[str]:
    """Users who block ``user_id`` or whom ``user_id`` blocks (cached like the hidden set)."""
    cached = svc.social_cache.get(f"blocks:{user_id}")
    if cached is None:
        svc.social_cache.invalidate(f"hidden:{user_id}")
        await hidden_authors(svc, user_id)
        cached = svc.social_cache.get(f"blocks:{user_id}") or frozenset()
    return cached


async def big_authors(svc: Services) -> frozenset[str]:
    """Authors above ``fanout_max_followers``: their tweets are pulled at read time."""
    cached = svc.social_cache.get(_BIG)
    if cached is not None:
        return cached
    value = frozenset(
        await user_store.ids_with_followers_above(
            svc.db, threshold=svc.settings.fanout_max_followers
        )
    )
    svc.social_cache.put(_BIG, value)
    return value


async def followees(svc: Services, user_id: str) -> frozenset[str]:
    """Everyone ``user_id`` follows, cached per process. A follow or unfollow moves both
    users' counters, and ``users_changed`` drops the entry on every process at once
    (``forget_follows``, wired in ``server/live.py``)."""
    key = f"follows:{user_id}"
    cached = svc.social_cache.get(key)
    if cached is None:
        cached = frozenset(await follow_store.followees(svc.db, follower=user_id))
        svc.social_cache.put(key, cached)
    return cached


def forget_follows(svc: Services, user_ids: list[str]) -> None:
    """These users followed or unfollowed someone (or were): drop their cached followees,
    and the big authors (one may have crossed the threshold: its tweets are no longer
    pushed, so readers must pull them now, not within the cache's TTL)."""
    keys = [f"{k}:{u}" for u in user_ids for k in ("follows", "cards")]
    svc.social_cache.invalidate(_BIG, *keys)


# People search reads at most this many followees' cards per caller.
CARDS_MAX = 500


async def followee_cards(svc: Services, user_id: str) -> frozenset[str]:
    """``"<id>\t<follower count>\t<folded name words>"`` for (at most ``CARDS_MAX`` of) the
    people ``user_id`` follows, cached like the followees, so people search can put the
    followed ones first without a query. Dropped with the followees; other changes (a
    followee's new display name or counts) are seen within the cache's TTL."""
    key = f"cards:{user_id}"
    cached = svc.social_cache.get(key)
    if cached is None:
        ids = sorted(await followees(svc, user_id))[:CARDS_MAX]
        cached = frozenset(
            "\t".join((str(d["_id"]), str(d.get("follower_count", 0)), _name_words(d)))
            for d in await user_store.names_of(svc.db, user_ids=ids)
        )
        svc.social_cache.put(key, cached)
    return cached


def _name_words(doc: dict[str, Any]) -> str:
    display = (doc.get("user_metadata") or {}).get("display_name")
    return " ".join(words(f"{doc.get('user_name', '')} {display or ''}"))


async def pull_authors_followed(svc: Services, user_id: str) -> list[str]:
    """The authors ``user_id`` follows who are above the fan-out threshold (pull path)."""
    big = await big_authors(svc)
    if not big:
        return []
    return sorted(big & await followees(svc, user_id))
