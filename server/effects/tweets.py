"""What follows a tweet's creation, edit, deletion, hiding or restoring, applied by the
outbox worker to a batch of pending tweets.

A tweet's document says what it is now (``deleted``, ``hidden``, its text and tags) and what
the worker has applied for it so far (``fx``). Each round brings the applied state to the
document's state, effect by effect, and records it (``store/tweets.py:settle``):

- counted (``tweet_count`` of the author, ``reply_count`` of the parent, ``quote_count`` of
  the quoted tweet): while not deleted;
- tags counted in trending and in ``tags`` (tag search): the tweet's tags while it is
  visible;
- in the search index: while visible;
- its images served: while visible (``media_hidden`` records a hidden tweet's);
- born (once, the first round): engagement for trending, mention, reply and quote
  notifications, the ``reply.created`` event, the spam screen, its images attached;
- shown in followers' timelines and home streams: while visible; edits re-announced
  (the author's streams and the tweet's own hear of it from the request).

Counter updates carry ids derived from ``fx`` (``store/counters.py``), every other effect
is idempotent on its own, so a worker killed anywhere re-runs the round safely.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from realtime.channels import tweet_stream

from .. import media, notifications, spam
from ..events import Announcement, ReplyCreated
from ..models import Tweet
from ..services import Services
from ..store import bookmarks as bookmark_store
from ..store import likes as like_store
from ..store import pins as pin_store
from ..store import postings, userstats
from ..store import reposts as repost_store
from ..store import tags as tag_store
from ..store import trends as trend_store
from ..store import tweets as tweet_store
from ..store import users as user_store
from ..store.counters import Counters, Toggle
from ..store.users import UserRecord
from . import counts, reposts, timelines


async def apply(svc: Services, docs: list[dict[str, Any]]) -> None:
    """Apply every pending change of these tweets (oldest first), then record it."""
    await finish(svc, [await show(svc, docs)])


@dataclass
class Shown:
    """Tweets whose followers have heard of them (``show``), the rest still to ``finish``."""

    rounds: list[_Round]
    born: list[_Round]
    parents: dict[str, Tweet]
    mentioned: dict[str, UserRecord]


async def show(svc: Services, docs: list[dict[str, Any]]) -> Shown:
    """The first half of a round, what people see at once: the spam screen, replies and
    mentions notified, followers' timelines and home streams."""
    rounds = [_Round(doc) for doc in docs]
    born = [r for r in rounds if r.live and not r.fx.get("born")]
    parents, mentioned, writers = await asyncio.gather(
        _parents(svc, born),
        _mentioned(svc, born),
        user_store.by_ids(svc.db, user_ids=sorted({r.tweet.user_id for r in rounds})),
    )
    # One effect after another: run at once (their round trips overlapping), they cost
    # SecantusDB a third more CPU a tweet (2.2 -> 2.9 ms, bench/rest.py --phases post).
    await _media(svc, rounds)
    await _birth(svc, born, writers, parents, mentioned)
    await _show(svc, rounds, writers)
    return Shown(rounds, born, parents, mentioned)


async def finish(svc: Services, shown: list[Shown]) -> None:
    """The second half, for one or several ``show``s at once: counters, trending and search,
    then the record of it all. Each effect records in ``fx`` only its own part, and nothing
    is stored before all are done (a round that fails is run again, ``show`` included:
    every effect is idempotent). What this half costs is mostly per call, not per tweet
    (a counter update per author, a posting-bucket rewrite per term)."""
    rounds = [r for s in shown for r in s.rounds]
    born = [r for s in shown for r in s.born]
    parents = {k: v for s in shown for k, v in s.parents.items()}
    mentioned = {k: v for s in shown for k, v in s.mentioned.items()}
    docs = [r.doc for r in rounds]
    await _count(svc, rounds, born, parents, mentioned)
    await _index(svc, rounds)
    await tweet_store.settle(svc.db, applied=[(r.doc, r.fx) for r in rounds if r.live])
    for r in rounds:
        if not r.live:
            await like_store.remove_for_tweet(svc.db, tweet_id=r.tweet.tweet_id)
            await repost_store.remove_for_tweet(svc.db, tweet_id=r.tweet.tweet_id)
            await bookmark_store.remove_for_tweet(svc.db, tweet_id=r.tweet.tweet_id)
            await pin_store.remove_for_tweet(svc.db, tweet_id=r.tweet.tweet_id)
            await media.remove_for_tweets(svc, [r.tweet.tweet_id])
            replies = await tweet_store.remove(svc.db, tweet_id=r.oid, version=r.doc.get("v", 1))
            await svc.tweets_changed(replies)
    await tweet_store.clear_entries(svc.db, docs=docs)
    moved = [r for r in rounds if r.counted_now is not None]
    await counts.announce(
        svc,
        [p for r in moved if (p := r.tweet.in_reply_to)] + [q for r in moved if (q := r.quoted())],
    )
    authors = sorted({r.tweet.user_id for r in rounds if r.counted_now is not None})
    await svc.users_changed(authors, counts_only=True)
    # Cached copies of documents that changed (a new tweet's is as it was cached, unless its
    # parent went meanwhile): dropped on every process.
    await svc.tweets_changed([r.tweet.tweet_id for r in rounds if r.changed()])


async def _count(
    svc: Services,
    rounds: list[_Round],
    born: list[_Round],
    parents: dict[str, Tweet],
    mentioned: dict[str, UserRecord],
) -> None:
    """Counters (tweets, replies, quotes), trending tags and engagement: one write each."""
    counters = Counters()
    for r in rounds:
        r.count(counters)
        r.retag(counters)
    for r in born:
        _engagement(counters, r.tweet, parents, mentioned)
    await counters.write(svc.db)
    for r in rounds:
        r.counted()


async def _media(svc: Services, rounds: list[_Round]) -> None:
    """A hidden tweet's images are not served; idempotent, and only when that changed."""
    flip = [r for r in rounds if r.live and bool(r.fx.get("media_hidden")) == r.visible]
    await media.shown(svc, [(r.tweet, r.visible) for r in flip])
    for r in flip:
        r.fx["media_hidden"] = not r.visible


async def _birth(
    svc: Services,
    born: list[_Round],
    writers: dict[str, UserRecord],
    parents: dict[str, Tweet],
    mentioned: dict[str, UserRecord],
) -> None:
    """Once per tweet: the spam screen (the batch's at once), the reply event and
    notifications, a reply whose parent went meanwhile marked so, its images attached."""
    await spam.screen(svc, [r.tweet for r in born])
    orphans: list[ObjectId] = []
    events: list[Announcement] = []
    wanted: list[notifications.Wanted] = []
    for r in born:
        author = writers.get(r.tweet.user_id)
        parent = parents.get(r.tweet.in_reply_to or "")
        if author is not None:
            events += _reply_event(r.tweet, parent)
            wanted += _notifications(r.tweet, author, parent, mentioned)
        if r.tweet.in_reply_to and r.tweet.in_reply_to not in parents:
            orphans.append(r.oid)  # the parent was deleted while the reply was written
            r.orphan = True
        r.fx["born"] = True
    await svc.publish_many(events)
    await notifications.notify_many(svc, wanted)
    await tweet_store.mark_parent_deleted(svc.db, tweet_ids=orphans)
    await media.attach(svc, [r.tweet for r in born])


async def _show(svc: Services, rounds: list[_Round], writers: dict[str, UserRecord]) -> None:
    """Followers' timelines and home streams: the batch's new tweets together, then each
    other change (an edit, a delete, a hide, a restore)."""
    pushed = {a for a, u in writers.items() if timelines.pushed(svc, u)}
    # Pulled (big) authors' followers are never read: their timelines hold none of their tweets.
    showing = [r.tweet.user_id for r in rounds if r.shows_change() and r.tweet.user_id in pushed]
    fans = await timelines.followers(svc, showing) if showing else {}
    appearing = [r for r in rounds if r.appears()]
    others = [r for r in rounds if not r.appears()]
    await timelines.shown(
        svc,
        [r.shown(fans.get(r.tweet.user_id, []) if r.tweet.user_id in pushed else None)
         for r in appearing],
    )  # fmt: skip
    for r in others:
        await r.show(svc, fans.get(r.tweet.user_id, []), pushed=r.tweet.user_id in pushed)


class _Round:
    """One tweet's round: the document as read and the applied state being brought to it."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.oid: ObjectId = doc["_id"]
        self.tweet = tweet_store.to_model(doc)
        self.fx: dict[str, Any] = dict(doc.get("fx") or {})
        self.live = not doc.get("deleted", False)
        self.visible = self.live and not doc.get("hidden", False)
        self.counted_now: bool | None = None  # set when this round moved the counters
        self.orphan = False  # a reply whose parent was deleted: marked so by this round
        # Counted while not deleted (see ``count``).
        self.toggle = Toggle(
            prefix=f"t{self.oid}c",
            flips=int(self.fx.get("cflips", 0)),
            counted=bool(self.fx.get("counted")),
            want=self.live,
        )

    def count(self, counters: Counters) -> None:
        """Counted while not deleted: decided per target at ``counters.write`` from what each
        has applied (a worker killed before recording a count, then a delete, must still
        take it back); ``counted`` records the outcome."""
        userstats.count_tweet(counters, self.tweet.user_id, self.toggle)
        parent = self.tweet.in_reply_to
        if parent and ObjectId.is_valid(parent):
            counters.add_toggle(
                "tweets", {"_id": ObjectId(parent)}, self.toggle, {"reply_count": 1}
            )
        if (quoted := self.quoted()) is not None:
            counters.add_toggle(
                "tweets", {"_id": ObjectId(quoted)}, self.toggle, {"quote_count": 1}
            )

    def counted(self) -> None:
        """Record what ``count`` brought about (after the counters are written)."""
        if self.toggle.moved or bool(self.fx.get("counted")) != self.live:
            self.counted_now = self.live
        self.fx.update(counted=self.live, cflips=self.toggle.reached)

    def quoted(self) -> str | None:
        """The id of the tweet this one quotes (counted in its ``quote_count``)."""
        quote = self.tweet.quote_of
        return quote.tweet_id if quote and ObjectId.is_valid(quote.tweet_id) else None

    def retag(self, counters: Counters) -> None:
        want = list(self.tweet.tags) if self.visible else []
        have = list(self.fx.get("tags", []))
        if sorted(want) == sorted(have):
            return
        flips = int(self.fx.get("gflips", 0))
        op, when = f"t{self.oid}g{flips}", self.tweet.created_at
        for tag, delta in [
            *((t, -1) for t in have if t not in want),
            *((t, 1) for t in want if t not in have),
        ]:
            trend_store.count_tag(counters, tag=tag, when=when, op=op, delta=delta)
            tag_store.count(counters, tag=tag, op=op, delta=delta)
        self.fx.update(tags=want, gflips=flips + 1)

    def shows_change(self) -> bool:
        """Whether followers' timelines or streams hear of this round."""
        shown, version = self.fx.get("shown"), self.doc.get("v", 1)
        return self.visible != bool(shown) or (
            self.visible and self.fx.get("announced", 1) != version
        )

    def changed(self) -> bool:
        """Whether the tweet's document may differ from a copy cached before this round: an
        edit, delete, hide or restore; not a new tweet (the worker leaves its document as
        stored), unless this round marked its parent gone."""
        new = tweet_store.NEW in self.doc and not self.doc.get("pending")
        return not new or self.orphan

    def appears(self) -> bool:
        """Whether followers' timelines get this tweet now (posted, restored)."""
        return self.visible and not self.fx.get("shown")

    def shown(self, fans: list[str] | None) -> timelines.Shown:
        """What ``timelines.shown`` takes for an appearing tweet (``fans``: None for a
        pulled author), recorded as applied: the batch's are written before it settles."""
        version = self.doc.get("v", 1)
        self.fx.update(shown=True, announced=version)
        return timelines.Shown(self.tweet, fans, version)

    async def show(self, svc: Services, fans: list[str], *, pushed: bool) -> None:
        """Followers' timelines and home streams, for a change other than appearing."""
        version = self.doc.get("v", 1)
        if self.visible and self.fx.get("announced", 1) != version:
            await timelines.edited(svc, self.tweet, fans if pushed else None, version)
            self.fx["announced"] = version
        elif not self.visible and self.fx.get("shown"):
            await timelines.gone(svc, self.tweet, fans, version)
            # Its reposts' entries go with it (a restore does not bring them back).
            await reposts.taken_back(svc, self.tweet.tweet_id, self.tweet.user_id)
            self.fx.update(shown=False, announced=version)


async def _index(svc: Services, rounds: list[_Round]) -> None:
    """Search: visible tweets in (edits re-indexed), the others out."""
    if svc.search_backend != "keyword":
        return  # the $text index keeps itself
    wanted = [
        postings.Indexed(r.oid, r.tweet.created_at, r.doc.get("terms", []))
        for r in rounds
        if r.visible
    ]
    await postings.add_many(svc.db, wanted)
    for r in rounds:
        if not r.visible and r.fx.get("indexed", False):
            await postings.remove(svc.db, tweet_id=r.oid)
        r.fx["indexed"] = r.visible


async def _parents(svc: Services, born: list[_Round]) -> dict[str, Tweet]:
    ids = [ObjectId(p) for r in born if (p := r.tweet.in_reply_to) and ObjectId.is_valid(p)]
    found = await tweet_store.counts(svc.db, tweet_ids=ids) if ids else []
    return {t.tweet_id: t for t in found}


async def _mentioned(svc: Services, born: list[_Round]) -> dict[str, UserRecord]:
    names = sorted({m.lower() for r in born for m in r.tweet.mentions})
    users = await user_store.by_names(svc.db, user_names=names)
    return {u.user_name.lower(): u for u in users}


def _engagement(
    counters: Counters, tweet: Tweet, parents: dict[str, Tweet], mentioned: dict[str, UserRecord]
) -> None:
    """Replying to or mentioning someone engages with them (trending users)."""
    engaged = {m.id for name in tweet.mentions[:10] if (m := mentioned.get(name.lower()))}
    if (parent := parents.get(tweet.in_reply_to or "")) is not None:
        engaged.add(parent.user_id)
    engaged.discard(tweet.user_id)
    for user_id in sorted(engaged):
        op, when = f"t{tweet.tweet_id}e", tweet.created_at
        trend_store.count_user(counters, user_id=user_id, when=when, op=op, field="engagement")


def _reply_event(tweet: Tweet, parent: Tweet | None) -> list[Announcement]:
    """A reply is announced on its parent's stream."""
    if parent is None:
        return []
    return [([tweet_stream(parent.tweet_id)], ReplyCreated(data=tweet), None)]


def _notifications(
    tweet: Tweet, author: UserRecord, parent: Tweet | None, mentioned: dict[str, UserRecord]
) -> list[notifications.Wanted]:
    """Whom a new tweet notifies: its parent's author, its quoted author, those mentioned."""
    wanted = []
    if parent is not None:
        wanted.append(notifications.Wanted(parent.user_id, "reply", author, tweet.tweet_id))
    if (quote := tweet.quote_of) is not None and quote.user_id:
        wanted.append(notifications.Wanted(quote.user_id, "quote", author, tweet.tweet_id))
    for name in dict.fromkeys(m.lower() for m in tweet.mentions):
        if (user := mentioned.get(name)) is not None:
            wanted.append(notifications.Wanted(user.id, "mention", author, tweet.tweet_id))
    return wanted
