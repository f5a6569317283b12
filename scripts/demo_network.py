"""A demo network, written in bulk (``scripts/seed_demo.py`` runs it).

The network is drawn in memory first (users, power-law follows with one star far above the
rest, tweets with hashtags and mentions over the last day, replies, likes); then each
collection is written with a few ``insert_many``/``bulk_write`` calls through the same store
functions and analyzer the request path uses, with everything the request path would have
derived: counters, stored home timelines (capped), notifications, the search index and the
trending rollups. Acting through the domain functions one action at a time took a quarter of
an hour on SecantusDB; this takes seconds.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from server import markdown
from server.models import UserMetadata
from server.search.analyzer import index_fields
from server.services import Services
from server.store import follows as follow_store
from server.store import likes as like_store
from server.store import notifications as notification_store
from server.store import postings
from server.store import tags as tag_store
from server.store import trends as trend_store
from server.store import tweets as tweet_store
from server.store import users as user_store

PASSWORD = "murmur-demo"
NAMES = (
    "ada alan grace linus margaret ken dennis barbara edsger donald frances tim vint radia "
    "guido yukihiro bjarne james anders brendan rasmus larry sophie hedy katherine annie "
    "john mary claude niklaus leslie tony robin shafi silvio whitfield martin judea"
).split()
TAGS = (
    "python databases realtime coffee music running books space climate rust design "
    "startups opensource photography cooking travel"
).split()
OPENERS = ["Just shipped", "Thinking about", "Hot take on", "Reading about", "Loving",
           "Struggling with", "A thread on", "Today I learned about",
           "Can't stop thinking about", "Notes on"]  # fmt: skip
THINGS = ["event sourcing", "the new release", "index design", "a tiny parser",
          "fan-out on write", "my morning run", "sourdough", "the weekend trip",
          "a great paper", "terminal colours", "rate limiting", "WebSockets",
          "cache invalidation", "the long tail", "pull requests"]  # fmt: skip
REPLIES = ["Agreed!", "Great point.", "Tell me more?", "Not sure about that.",
           "Love this **so** much", "Bookmarked.", "Same here.", "This is the way."]  # fmt: skip
STAR = "ada_demo"
CHUNK = 1000

Progress = Callable[[str, int, int], None]


def _quiet(label: str, done: int, total: int) -> None:
    pass


@dataclass
class Network:
    """What the seed wrote (the CLI prints it; the test checks it)."""

    users: list[user_store.UserRecord] = field(default_factory=list)
    follows: int = 0
    tweets: int = 0
    replies: int = 0
    likes: int = 0


def _oid(when: datetime, seq: int) -> ObjectId:
    """An id whose order is ``when``'s order (ties broken by ``seq``), like a real insert's."""
    return ObjectId(ObjectId.from_datetime(when).binary[:4] + seq.to_bytes(8, "big"))


async def _chunks(
    label: str, docs: Sequence[Any], write: Callable[[list[Any]], Any], progress: Progress
) -> None:
    progress(label, 0, len(docs))
    for start in range(0, len(docs), CHUNK):
        await write(list(docs[start : start + CHUNK]))
        progress(label, min(start + CHUNK, len(docs)), len(docs))


async def seed(
    svc: Services,
    *,
    n_users: int = 200,
    n_tweets: int = 5000,
    rng: random.Random | None = None,
    progress: Progress = _quiet,
) -> Network:
    """Write a demo network into ``svc.db`` (expected to be fresh) and say what it holds."""
    rng = rng or random.Random(42)
    db, now = svc.db, svc.clock()
    start = now - timedelta(days=1)
    net = Network()

    # Users, one at a time (a few hundred; the unique-name checks stay in one place).
    # One hash for all: argon2 is slow on purpose.
    password_hash = await svc.passwords.hash(PASSWORD)

    async def make_user(i: int) -> user_store.UserRecord:
        name = f"{NAMES[i % len(NAMES)]}_demo" + ("" if i < len(NAMES) else str(i))
        meta = UserMetadata(
            display_name=name.split("_")[0].title(), bio=f"I post about #{TAGS[i % len(TAGS)]}"
        )
        return await user_store.create(db, user_name=name, email=f"{name}@demo.murmur.local",
                                       password_hash=password_hash, metadata=meta,
                                       now=start, email_verified=True)  # fmt: skip

    for first in range(0, n_users, 50):
        batch = range(first, min(first + 50, n_users))
        net.users += await asyncio.gather(*(make_user(i) for i in batch))
        progress("users", len(net.users), n_users)
    users = net.users
    ids = [u.id for u in users]
    by_name = {u.user_name.lower(): i for i, u in enumerate(users)}
    counters: defaultdict[str, Counter[str]] = defaultdict(Counter)
    notes: list[dict[str, Any]] = []
    activity: Counter[tuple[str, str, datetime]] = Counter()

    def notify(recipient: int, kind: str, actor: int, tweet_id: str | None, when: datetime) -> None:
        if recipient != actor:  # as notifications.notify: never about yourself
            notes.append(notification_store.new_document(
                recipient=ids[recipient], kind=kind, actor_id=ids[actor],
                actor_name=users[actor].user_name, tweet_id=tweet_id, now=when))  # fmt: skip

    # Follows: the star gets most fans; everyone else by a power law on their rank.
    weights = [1 / (r + 1) ** 1.2 for r in range(len(users))]
    edges: set[tuple[int, int]] = set()
    for i in range(len(users)):
        if i != 0 and rng.random() < 0.8:
            edges.add((i, 0))
        for j in rng.choices(range(len(users)), weights=weights, k=rng.randint(3, 25)):
            if j != i:
                edges.add((i, j))
    followers: defaultdict[int, list[int]] = defaultdict(list)
    for a, b in sorted(edges):
        followers[b].append(a)
        counters[ids[a]]["following_count"] += 1
        counters[ids[b]]["follower_count"] += 1
        activity[ids[b], "followers", start] += 1
        notify(b, "follow", a, None, start)
    net.follows = len(edges)
    pairs = [(ids[a], ids[b]) for a, b in sorted(edges)]
    await _chunks("follows", pairs,
                  lambda c: follow_store.add_many(db, edges=c, now=start), progress)  # fmt: skip

    # Tweets and replies over the last day, oldest first, rendered and analysed as on POST.
    n_replies = n_tweets // 10
    total = n_tweets + n_replies
    times = sorted(start + timedelta(seconds=rng.uniform(0, 86_000)) for _ in range(total))
    posting = [rng.paretovariate(1.5) for _ in users]
    docs: list[dict[str, Any]] = []
    authors: list[int] = []
    tag_uses: Counter[tuple[str, datetime]] = Counter()
    replies_left = n_replies
    for seq, when in enumerate(times):
        parent = None
        if docs and rng.random() < replies_left / (total - seq):
            replies_left -= 1
            who = rng.randrange(len(users))
            parent = rng.randrange(len(docs))
            text = rng.choice(REPLIES)
        else:
            who = rng.choices(range(len(users)), weights=posting)[0]
            tags = " ".join(f"#{t}" for t in rng.sample(TAGS, rng.randint(0, 2)))
            other = users[rng.randrange(len(users))].user_name
            mention = f" cc @{other}" if rng.random() < 0.1 else ""
            text = f"{rng.choice(OPENERS)} {rng.choice(THINGS)} {tags}{mention}".strip()
        rendered = markdown.render(text)
        doc = tweet_store.new_document(
            user_id=ids[who], user_name=users[who].user_name, content=text,
            html=rendered.html, tags=rendered.tags, mentions=rendered.mentions, now=when,
            in_reply_to=None if parent is None else str(docs[parent]["_id"]),
            extra=index_fields(text, rendered.tags, rendered.mentions),
            tweet_id=_oid(when, seq), settled=True,
        )  # fmt: skip
        tid = str(doc["_id"])
        docs.append(doc)
        authors.append(who)
        counters[ids[who]]["tweet_count"] += 1
        for tag in rendered.tags:
            tag_uses[tag, when] += 1
        if parent is not None:
            docs[parent]["reply_count"] += 1
            notify(authors[parent], "reply", who, tid, when)
            if authors[parent] != who:
                activity[ids[authors[parent]], "engagement", when] += 1
            net.replies += 1
        for name in dict.fromkeys(rendered.mentions):
            if name in by_name:
                notify(by_name[name], "mention", who, tid, when)
                if by_name[name] != who:
                    activity[ids[by_name[name]], "engagement", when] += 1
    net.tweets = len(docs) - net.replies

    # Likes: unique (tweet, user) pairs.
    liked: set[tuple[int, int]] = set()
    for _ in range(n_tweets):
        liked.add((rng.randrange(len(docs)), rng.randrange(len(users))))
    for t, u in sorted(liked):
        docs[t]["like_count"] += 1
        tid = str(docs[t]["_id"])
        notify(authors[t], "like", u, tid, now)
        activity[ids[authors[t]], "engagement", now] += 1
    net.likes = len(liked)

    await _chunks("tweets", docs, lambda c: tweet_store.insert_many(db, c), progress)
    like_pairs = [(str(docs[t]["_id"]), ids[u]) for t, u in sorted(liked)]
    await _chunks("likes", like_pairs,
                  lambda c: like_store.add_many(db, likes=c, now=now), progress)  # fmt: skip
    # tweet_count too, on the user documents: new users have no stats yet, so readers take
    # it from there and the worker's first count starts from it (store/userstats.py).
    await user_store.add_to_counters(db, deltas={u: dict(c) for u, c in counters.items()})

    # Stored home timelines: what the fan-out worker would have pushed (every author's
    # followers, and the author), the newest ``timeline_max_entries`` per reader.
    keep = svc.settings.timeline_max_entries
    per_owner: defaultdict[int, list[int]] = defaultdict(list)
    for t in range(len(docs) - 1, -1, -1):  # newest first
        for f in [authors[t], *followers[authors[t]]]:
            if len(per_owner[f]) < keep:
                per_owner[f].append(t)
    entries = [(ids[o], docs[t]["_id"], ids[authors[t]]) for o, ts in per_owner.items()
               for t in ts]  # fmt: skip
    await _chunks("timelines", entries,
                  lambda c: svc.timelines.load(entries=c), progress)  # fmt: skip

    notes.sort(key=lambda n: n["created_at"])
    for seq, note in enumerate(notes):
        note["_id"] = _oid(note["created_at"], seq)
    await _chunks("notes", notes, lambda c: notification_store.insert_many(db, c), progress)

    if svc.search_backend == "keyword":  # the $text back-end's index keeps itself
        await postings.bulk_load(db, docs)
    progress("search", len(docs), len(docs))
    await trend_store.add_many(db, tag_uses=dict(tag_uses), user_activity=dict(activity))
    tag_totals: Counter[str] = Counter()
    for (tag, _), n in tag_uses.items():
        tag_totals[tag] += n
    await tag_store.add_many(db, uses=dict(tag_totals))
    progress("trending", 1, 1)
    net.users = list((await user_store.by_ids(db, user_ids=ids)).values())
    net.users.sort(key=lambda u: u.user_name != STAR)
    return net
