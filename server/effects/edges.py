"""What follows a like, a repost or a follow turned on or off, applied by the outbox worker to a
batch of pending edges (``store/edges.py``): the counters (once each), trending, the
notification, the follower's stored timeline, the live counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId

from .. import notifications
from ..models import NotificationKind
from ..services import Services
from ..store import edges
from ..store import trends as trend_store
from ..store import tweets as tweet_store
from ..store import users as user_store
from ..store.counters import Counters, Toggle
from . import counts, timelines
from . import reposts as repost_effects


def _toggles(docs: list[dict[str, Any]], prefix: str) -> dict[Any, Toggle]:
    """Each edge's counter contribution: on while the edge is on (store/counters.py)."""
    return {
        d["_id"]: Toggle(
            prefix=f"{prefix}{d['_id']}f",
            flips=d.get("flips", 0),
            counted=edges.counted(d),
            want=edges.is_on(d),
        )
        for d in docs
    }


def _changed(docs: list[dict[str, Any]], toggles: dict[Any, Toggle]) -> list[dict[str, Any]]:
    """The edges whose effects are to be (re)applied: turned since the worker recorded them,
    or found turned on a counter by a worker that died before recording it."""
    return [d for d in docs if edges.is_on(d) != edges.counted(d) or toggles[d["_id"]].moved]


def _trend(counters: Counters, user_id: str, doc: dict[str, Any], field: str) -> None:
    op = edges.op_id("e", doc)
    trend_store.count_user(counters, user_id=user_id, when=doc["created_at"], op=op, field=field)


async def likes(svc: Services, docs: list[dict[str, Any]]) -> None:
    """Likes and unlikes: ``like_count``, engagement for the author, a notification."""
    await _marks(svc, docs, svc.db.likes, op="l", field="like_count", kind="like")


async def reposts(svc: Services, docs: list[dict[str, Any]]) -> None:
    """Reposts and un-reposts: ``repost_count``, engagement for the author, a notification,
    the reposter's followers' home timelines."""
    await _marks(
        svc, docs, svc.db.reposts, op="r", field="repost_count", kind="repost",
        then=repost_effects.apply,
    )  # fmt: skip


async def _marks(
    svc: Services,
    docs: list[dict[str, Any]],
    collection: Any,
    *,
    op: str,
    field: str,
    kind: NotificationKind,
    then: Callable[[Services, list[dict[str, Any]]], Awaitable[None]] | None = None,
) -> None:
    """Edges a user puts on a tweet (likes, reposts): the tweet's ``field`` counter, engagement
    for its author, a ``kind`` notification on each turn-on, the live counts, ``then`` with
    the changed edges, then settled."""
    toggles = _toggles(docs, op)
    counters = Counters()
    for doc in docs:
        key = {"_id": ObjectId(doc["tweet_id"])}
        counters.add_toggle("tweets", key, toggles[doc["_id"]], {field: 1})
    ons = [d for d in docs if edges.is_on(d) and not edges.counted(d)]
    ids = sorted({ObjectId(d["tweet_id"]) for d in ons})
    found = {t.tweet_id: t for t in await tweet_store.counts(svc.db, tweet_ids=ids)} if ids else {}
    new: list[tuple[dict[str, Any], str]] = []
    for doc in ons:
        if (tweet := found.get(doc["tweet_id"])) is not None:
            _trend(counters, tweet.user_id, doc, "engagement")
            new.append((doc, tweet.user_id))
    await counters.write(svc.db)
    changed = _changed(docs, toggles)
    actors = await user_store.by_ids(svc.db, user_ids=sorted({d["user_id"] for d, _ in new}))
    await notifications.notify_many(
        svc,
        [notifications.Wanted(author, kind, actor, doc["tweet_id"])
         for doc, author in new if (actor := actors.get(doc["user_id"])) is not None],
    )  # fmt: skip
    await counts.announce(svc, [d["tweet_id"] for d in changed])
    if then is not None:
        await then(svc, changed)
    await edges.settle(collection, docs, {i: t.reached for i, t in toggles.items()})


async def follows(svc: Services, docs: list[dict[str, Any]]) -> None:
    """Follows and unfollows: both counters, trending, the timeline, a notification."""
    toggles = _toggles(docs, "f")
    counters = Counters()
    for doc in docs:
        toggle = toggles[doc["_id"]]
        counters.add_toggle(
            "users", {"_id": ObjectId(doc["follower"])}, toggle, {"following_count": 1}
        )
        counters.add_toggle(
            "users", {"_id": ObjectId(doc["followee"])}, toggle, {"follower_count": 1}
        )
        if edges.is_on(doc) and not edges.counted(doc):
            _trend(counters, doc["followee"], doc, "followers")
    await counters.write(svc.db)
    changed = _changed(docs, toggles)
    involved = sorted({u for d in changed for u in (d["follower"], d["followee"])})
    await svc.users_changed(involved, counts_only=True)
    actors = await user_store.by_ids(svc.db, user_ids=involved) if changed else {}
    wanted: list[notifications.Wanted] = []
    for doc in changed:
        owner, author = doc["follower"], doc["followee"]
        if not edges.is_on(doc):
            await timelines.unfollowed(svc, owner, author)
            continue
        push = timelines.pushed(svc, actors.get(author))
        await timelines.followed(svc, owner, author, push=push)
        if (actor := actors.get(owner)) is not None:
            wanted.append(notifications.Wanted(author, "follow", actor))
    await notifications.notify_many(svc, wanted)
    await edges.settle(svc.db.follows, docs, {i: t.reached for i, t in toggles.items()})
