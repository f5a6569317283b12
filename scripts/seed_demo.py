#!/usr/bin/env python3
"""Fill a fresh Murmur database with a living demo network.

    .venv/bin/python scripts/seed_demo.py                 # embedded database under DATA_DIR
    MONGODB_URL=mongodb://... .venv/bin/python scripts/seed_demo.py --users 200 --tweets 5000

Users get power-law follower counts (a few stars, a long tail), one star far above the rest;
tweets carry hashtags and mentions, and people like and reply to each other. Everything goes
through Murmur's own domain functions (follow, compose, like, reply), so counters, timelines,
notifications and search stay consistent. Every account's password is ``murmur-demo``.

Run it before ``murmur serve`` when using the embedded database (one process per data
directory), and serve with FANOUT_MAX_FOLLOWERS below the star's follower count (e.g. 100)
to see the pull path at work.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import likes, replies, social, tweets  # noqa: E402
from server.accounts import Caller  # noqa: E402
from server.app import create_app  # noqa: E402
from server.embedded import EmbeddedMongo  # noqa: E402
from server.errors import ApiError  # noqa: E402
from server.models import UserMetadata  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import users as user_store  # noqa: E402

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
OPENERS = [
    "Just shipped",
    "Thinking about",
    "Hot take on",
    "Reading about",
    "Loving",
    "Struggling with",
    "A thread on",
    "Today I learned about",
    "Can't stop thinking about",
    "Notes on",
]
THINGS = [
    "event sourcing",
    "the new release",
    "index design",
    "a tiny parser",
    "fan-out on write",
    "my morning run",
    "sourdough",
    "the weekend trip",
    "a great paper",
    "terminal colours",
    "rate limiting",
    "WebSockets",
    "cache invalidation",
    "the long tail",
    "pull requests",
]
REPLIES = ["Agreed!", "Great point.", "Tell me more?", "Not sure about that.",
           "Love this **so** much", "Bookmarked.", "Same here.", "This is the way."]  # fmt: skip


def progress(label: str, done: int, total: int, started: float) -> None:
    width = 30
    filled = width * done // max(total, 1)
    rate = done / max(time.monotonic() - started, 1e-6)
    bar = "#" * filled + "." * (width - filled)
    end = "\n" if done >= total else ""
    print(f"\r{label:<10} [{bar}] {done:>6}/{total} ({rate:,.0f}/s)", end=end, flush=True)


async def run_all(
    label: str, jobs: Iterable[Callable[[], Awaitable[Any]]], total: int, concurrency: int = 16
) -> None:
    """Run the jobs, ``concurrency`` at a time, with a progress bar."""
    started, done = time.monotonic(), 0
    queue = iter(jobs)

    async def worker() -> None:
        nonlocal done
        for job in queue:
            try:
                await job()
            except ApiError:
                pass  # e.g. liking a tweet twice: the domain refuses, the seed moves on
            done += 1
            if done % 25 == 0 or done == total:
                progress(label, done, total, started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    progress(label, total, total, started)


async def seed(svc: Services, n_users: int, n_tweets: int, rng: random.Random) -> None:
    if await user_store.by_name(svc.db, user_name="ada_demo") is not None:
        sys.exit("This database already holds the demo network; use a fresh one.")
    password_hash = svc.passwords.hash(PASSWORD)  # one hash for all: argon2 is slow on purpose
    users: list[user_store.UserRecord] = []

    async def make_user(i: int) -> None:
        name = f"{NAMES[i % len(NAMES)]}_demo" + ("" if i < len(NAMES) else str(i))
        meta = UserMetadata(
            display_name=name.split("_")[0].title(), bio=f"I post about #{TAGS[i % len(TAGS)]}"
        )
        users.append(
            await user_store.create(
                svc.db,
                user_name=name,
                email=f"{name}@demo.murmur.local",
                password_hash=password_hash,
                metadata=meta,
                now=svc.clock(),
                email_verified=True,
            )  # fmt: skip
        )

    await run_all("users", (lambda i=i: make_user(i) for i in range(n_users)), n_users)
    users.sort(key=lambda u: u.user_name != "ada_demo")  # the star first
    callers = [Caller(u, "seed") for u in users]
    # Power law: the user at rank r is picked with weight 1 / r^1.2; the star gets most fans.
    weights = [1 / (r + 1) ** 1.2 for r in range(len(users))]
    edges: set[tuple[int, int]] = set()
    for i in range(len(users)):
        if i != 0 and rng.random() < 0.8:
            edges.add((i, 0))
        for j in rng.choices(range(len(users)), weights=weights, k=rng.randint(3, 25)):
            if j != i:
                edges.add((i, j))
    await run_all(
        "follows",
        (lambda a=a, b=b: social.follow(svc, callers[a], users[b].id) for a, b in edges),
        len(edges),
    )

    activity = [rng.paretovariate(1.5) for _ in users]
    posted: list[str] = []

    async def post(n: int) -> None:
        who = rng.choices(range(len(users)), weights=activity)[0]
        tags = " ".join(f"#{t}" for t in rng.sample(TAGS, rng.randint(0, 2)))
        mention = f" cc @{users[rng.randrange(len(users))].user_name}" if rng.random() < 0.1 else ""
        text = f"{rng.choice(OPENERS)} {rng.choice(THINGS)} {tags}{mention}".strip()
        posted.append((await tweets.compose(svc, callers[who], text)).tweet_id)

    await run_all("tweets", (lambda n=n: post(n) for n in range(n_tweets)), n_tweets)

    n_likes, n_replies = n_tweets, n_tweets // 10
    # Newer and luckier tweets get more attention.
    await run_all("likes", (lambda: likes.like(svc, rng.choice(callers), rng.choice(posted))
                            for _ in range(n_likes)), n_likes)  # fmt: skip

    async def reply() -> None:
        parent = rng.choice(posted)
        await replies.reply(svc, rng.choice(callers), parent, rng.choice(REPLIES))

    await run_all("replies", (reply for _ in range(n_replies)), n_replies)
    assert svc.fanout is not None
    print("fan-out: writing home timelines ...", flush=True)
    await svc.fanout.drain()
    star = await user_store.by_id(svc.db, user_id=users[0].id)
    assert star is not None
    print(f"Done: {len(users)} users, {len(edges)} follows, {len(posted)} tweets.")
    print(f"Sign in as any of them (e.g. {star.user_name}) with the password {PASSWORD!r}.")
    threshold = max(1, star.follower_count // 2)
    print(f"{star.user_name} has {star.follower_count} followers: serve with "
          f"FANOUT_MAX_FOLLOWERS={threshold} to put them on the pull path.")  # fmt: skip


async def main_async(args: argparse.Namespace) -> None:
    # Seeding is bulk work by design: no rate limits, no mail.
    settings = Settings(rate_limits_enabled=False)
    embedded = None
    if not settings.mongodb_url:
        embedded = EmbeddedMongo(settings.data_dir.resolve() / "db")
        settings = settings.model_copy(update={"mongodb_url": embedded.start()})
    try:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await seed(app.state.services, args.users, args.tweets, random.Random(args.seed))
    finally:
        if embedded:
            embedded.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--tweets", type=int, default=5000)
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed (same seed, same network)"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
