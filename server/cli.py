"""The ``murmur`` command: ``serve`` runs the server (with an embedded database by default)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import signal
import sys

from .embedded import EmbeddedMongo
from .logredact import configure_root_logging, uvicorn_log_config
from .settings import Settings
from .slowloris import with_header_timeout


def serve(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    embedded = None
    if not settings.mongodb_url:
        embedded = EmbeddedMongo(settings.data_dir.resolve() / "db")
        settings = settings.model_copy(update={"mongodb_url": embedded.start()})
    from . import live
    from .app import create_app
    from .workerprocess import WorkerProcess

    worker = None
    if settings.run_worker and settings.worker_process and settings.redis_url:
        worker = WorkerProcess(settings)
        settings = settings.model_copy(update={"run_worker": False})

    # uvicorn re-raises the signal that stopped it once it has shut down; SIGTERM's default
    # action would kill us on the spot and orphan the embedded database, so make it an exit.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    _raise_fd_limit()
    try:
        if worker:
            worker.start()
        live.run(
            create_app(settings),
            settings,
            host=settings.host,
            port=settings.port,
            backlog=settings.backlog,
            log_level=settings.log_level.lower(),
            log_config=uvicorn_log_config(),
            # Client addresses (every per-address limit) come from X-Forwarded-For only when
            # the connection is from one of these proxies.
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            # Against slowloris: idle keep-alive connections and slow headers are cut off.
            timeout_keep_alive=settings.http_keep_alive_seconds,
            http=with_header_timeout(settings.http_header_timeout_seconds),
            timeout_graceful_shutdown=10,
        )
    finally:
        if worker:
            worker.stop()
        if embedded:
            embedded.stop()
    return 0


def worker(args: argparse.Namespace) -> int:
    """Run only the outbox worker (the Procfile's ``worker:`` line); web processes then set
    ``RUN_WORKER=false``. It opens what the app opens (database, Redis, the hub's publisher)
    through the app's own lifespan, and serves no HTTP."""
    settings = Settings(run_worker=True)
    if not settings.mongodb_url:
        print("Set MONGODB_URL (the cluster's database) first.", file=sys.stderr)
        return 2
    from .app import create_app

    app = create_app(settings)
    app.state.worker_only = True  # /admin/stats shows it as a worker

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with app.router.lifespan_context(app):
            logging.getLogger("murmur.outbox").info("outbox worker running")
            await stop.wait()

    asyncio.run(run())
    return 0


def _raise_fd_limit() -> None:
    """Soft open-files limit up to the hard one: every socket is a file descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        logging.getLogger("murmur.cli").info("open-files limit raised from %d to %d", soft, hard)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def make_admin(args: argparse.Namespace) -> int:
    """Give a user the admin (or moderator) role: the way the first admin is made."""
    from .db import connect
    from .store import users as user_store

    settings = Settings()
    if not settings.mongodb_url:
        print("Set MONGODB_URL (the server's database) first.", file=sys.stderr)
        return 2

    async def run() -> int:
        client = connect(settings.mongodb_url or "")
        try:
            db = client[settings.mongodb_db]
            user = await user_store.by_name(db, user_name=args.user_name)
            if user is None:
                print(f"No user named {args.user_name!r}.", file=sys.stderr)
                return 1
            await user_store.set_role(db, user_id=user.id, role=args.role)
            if settings.redis_url:  # running app processes cache users: tell them
                await _announce_user_change(settings.redis_url, user.id, settings.redis_cluster)
            print(f"{user.user_name} is now {args.role}.")
            return 0
        finally:
            await client.close()

    return asyncio.run(run())


async def _announce_user_change(redis_url: str, user_id: str, cluster: bool = False) -> None:
    """Tell every running process, on the hub's control channel, to drop ``user_id``."""
    from realtime.hub import CONTROL_CHANNEL, users_changed_message
    from realtime.redis_backend import connect_redis

    client = connect_redis(redis_url, cluster=cluster)
    message = users_changed_message([user_id], False)
    try:
        if cluster:  # on a cluster the hub listens with sharded pub/sub (SSUBSCRIBE)
            await client.spublish(CONTROL_CHANNEL, message)
        else:
            await client.publish(CONTROL_CHANNEL, message)
    finally:
        await client.aclose()


def stats(args: argparse.Namespace) -> int:
    """The cluster's live connection counts, as each process last reported them to Redis."""
    from realtime.stats import print_cluster

    settings = Settings()
    if not settings.redis_url:
        print("Set REDIS_URL (the cluster's Redis) first.", file=sys.stderr)
        return 2
    return print_cluster(settings.redis_url)


def main(argv: list[str] | None = None) -> int:
    configure_root_logging()
    parser = argparse.ArgumentParser(
        prog="murmur", description="Murmur, a real-time social network."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the server (embedded database unless MONGODB_URL)")
    p_serve.add_argument("--host")
    p_serve.add_argument("--port", type=int)
    p_serve.set_defaults(func=serve)
    p_worker = sub.add_parser("worker", help="run only the outbox worker (needs MONGODB_URL)")
    p_worker.set_defaults(func=worker)
    p_admin = sub.add_parser("make-admin", help="give a user the admin or moderator role")
    p_admin.add_argument("user_name")
    p_admin.add_argument("--role", choices=["admin", "moderator", "user"], default="admin")
    p_admin.set_defaults(func=make_admin)
    p_stats = sub.add_parser("stats", help="print the cluster's live WebSocket connections")
    p_stats.set_defaults(func=stats)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
