#!/usr/bin/env python3
"""Fill a fresh Murmur database with a living demo network.

    .venv/bin/python scripts/seed_demo.py                 # embedded database under DATA_DIR
    MONGODB_URL=mongodb://... .venv/bin/python scripts/seed_demo.py --users 200 --tweets 5000

Users get power-law follower counts (a few stars, a long tail), one star far above the rest;
tweets carry hashtags and mentions, and people like and reply to each other. The network is
written in bulk by ``scripts/demo_network.py`` through Murmur's own store functions and analyzer, so
counters, stored timelines, notifications, search and trending are what the request path
would have made. Every account's password is ``murmur-demo``.

Run it before ``murmur serve`` when using the embedded database (one process per data
directory), and serve with FANOUT_MAX_FOLLOWERS below the star's follower count (the seed
prints a value) to see the pull path at work.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import demo_network as demo  # noqa: E402  (beside this script)

from server.app import create_app  # noqa: E402
from server.embedded import EmbeddedMongo  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import users as user_store  # noqa: E402


class Bar:
    """A one-line progress bar per phase."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.label = ""

    def __call__(self, label: str, done: int, total: int) -> None:
        if label != self.label:
            self.label, self.started = label, time.monotonic()
        width = 30
        filled = width * done // max(total, 1)
        rate = done / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * filled + "." * (width - filled)
        end = "\n" if done >= total else ""
        print(f"\r{label:<10} [{bar}] {done:>6}/{total} ({rate:,.0f}/s)", end=end, flush=True)


async def seed(svc: Services, n_users: int, n_tweets: int, rng: random.Random) -> None:
    if await user_store.by_name(svc.db, user_name=demo.STAR) is not None:
        sys.exit("This database already holds the demo network; use a fresh one.")
    started = time.monotonic()
    net = await demo.seed(svc, n_users=n_users, n_tweets=n_tweets, rng=rng, progress=Bar())
    star = net.users[0]
    print(f"Done in {time.monotonic() - started:.0f} s: {len(net.users)} users, "
          f"{net.follows} follows, {net.tweets} tweets, {net.replies} replies, "
          f"{net.likes} likes.")  # fmt: skip
    print(f"Sign in as any of them (e.g. {star.user_name}) with the password {demo.PASSWORD!r}.")
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
