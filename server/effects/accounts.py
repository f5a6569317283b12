"""What follows an account's deletion, applied by the outbox worker: everything the account
owns is turned into ordinary pending writes — its tweets deleted, its likes and its follows
(both ways) turned off — so the same effects that undo one tweet, like or follow move every
counter on everyone else exactly; its notifications, blocks, mutes and images go, and it
leaves every conversation (its messages stay, as the others received them). Each step is
safe to repeat; the account is settled last."""

from __future__ import annotations

from .. import media
from ..services import Services
from ..store import conversations as conversation_store
from ..store import edges, userstats
from ..store import notifications as notification_store
from ..store import relations as relation_store
from ..store import tweets as tweet_store
from ..store import users as user_store


async def apply(svc: Services, user_ids: list[str]) -> None:
    """Take apart every deleted account in ``user_ids``."""
    for uid in user_ids:
        await tweet_store.delete_by_author(svc.db, user_id=uid, now=svc.clock())
        await edges.turn_off_all(svc.db.likes, {"user_id": uid})
        await edges.turn_off_all(svc.db.reposts, {"user_id": uid})
        await edges.turn_off_all(svc.db.follows, {"$or": [{"follower": uid}, {"followee": uid}]})
        await notification_store.remove_involving(svc.db, user_id=uid)
        await media.remove_for_user(svc, uid)  # attached or not
        await conversation_store.leave_all(svc.db, user_id=uid)
        others = await relation_store.remove_involving(svc.db, user_id=uid)
        svc.social_cache.invalidate(
            *(f"{k}:{u}" for u in [uid, *others] for k in ("hidden", "blocks"))
        )
        if svc.on_relations_changed and others:
            await svc.on_relations_changed([uid, *others])
        # Its tweets' counts, still being taken back, have nothing left to move.
        await userstats.remove(svc.db, user_id=uid)
        await user_store.deletion_done(svc.db, user_id=uid)
    svc.written()  # the tweets and edges just marked are the next rounds' work
