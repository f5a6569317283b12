"""Connect-storm isolation benchmark: do sockets that never dropped keep getting events on
time while another process's sockets land here all at once?

    .venv/bin/python bench/storm.py --steady 1000 --storm 5000 --rate 5 --label after

Starts the stack as ``bench/fanout.py`` does (``bench/stack.py``: its own redis-server,
embedded database and one ``murmur serve``), makes steady + storm + 1 signed-in users, opens
``--steady`` sockets on ``user:<author>`` (one load process) and posts ``--rate`` tweets/s
through ``POST /tweets``. After ``--before`` seconds, ``--storm`` sockets of other users (a
second load process: the sockets of a process that died) connect at once, each subscribing to
the same stream with ``since`` (each replays the ``--missed`` seconds of events it missed)
and retrying refused or failed attempts with backoff. By default they connected once before
and dropped, so their sessions are cached (the hub's own work is measured); ``--cold`` skips
that, and then the storm is bound by reading 5,000 sessions from the database. Posting goes
on until ``--after`` seconds past the storm's end.

Reported: the steady sockets' publish-to-receive p50/p99/max (from the event id, Redis's
clock, to arrival) before, during and after the storm, by when each event arrived; the
storm's completion time (every storm socket subscribed); its attempts refused and why
(``error overloaded`` is admission control's 1013); the server's admission gauges.
Appended to ``--out`` (JSON, with the command). Every wait is bounded: a run ends within
about ``--before + --storm-limit + --after + 20`` seconds.

With ``--cluster`` every socket and POST goes through nginx to ``--apps`` web processes
(``server/cluster.py``, as ``bench/fanout.py --cluster``; ``--redis-cluster`` on a Redis
Cluster): nginx spreads both the steady and the storm sockets over the processes, as when a
dead process's clients come back through the proxy; the admission gauges are each process's.

Compare admission control on and off in one run each (``--env`` goes to the app):

    .venv/bin/python bench/storm.py --label before --env WS_HANDSHAKE_CONCURRENCY=100000 \
        --env WS_AUTH_CONCURRENCY=100000 --env WS_REPLAY_CONCURRENCY=32
    .venv/bin/python bench/storm.py --label after
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import sys
import threading
import time
from array import array
from datetime import UTC, datetime
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fanout import Load, Socket, merge_counts  # noqa: E402
from bench.stack import SECRET, make_users, pct, raise_fd_limit  # noqa: E402

# --- load processes ---------------------------------------------------------------------


class TimedLoad(Load):
    """A ``Load`` that also remembers when each event arrived (to split before/during/after)."""

    def reset(self) -> None:
        super().reset()
        self.arrived = array("d")

    def on_text(self, sock: Socket, payload: bytes, now: float) -> None:
        received = self.received
        super().on_text(sock, payload, now)
        if self.received != received:
            self.arrived.append(now)


def load_worker(port: int, tokens: list[str], stream: str, pipe: Pipe) -> None:
    """One load process, obeying the driver over ``pipe``."""
    raise_fd_limit()
    import uvloop

    uvloop.run(_load_main(port, tokens, stream, pipe))


async def _load_main(port: int, tokens: list[str], stream: str, pipe: Pipe) -> None:
    load = TimedLoad("127.0.0.1", [port], tokens, stream)
    while True:
        command, arg = await asyncio.to_thread(pipe.recv)
        if command == "connect":  # (concurrency, limit, attempt timeout, since key or None)
            concurrency, limit, attempt, since = arg
            if since is not None:  # resume from there, as a dropped socket would
                load.sockets = [Socket(load, t, None, since.encode()) for t in tokens]
            t0 = time.time()
            seconds = await load.connect_all(concurrency, since is not None, limit, attempt)
            pipe.send({"started": t0, "seconds": seconds, "subscribed": load.subscribed,
                       "failed": load.failed_connects, "retries": load.retries,
                       "failures": load.failures})  # fmt: skip
        elif command == "drop":  # every socket goes away at once (its process died)
            for sock in load.sockets:
                sock.subscribed = False
                if sock.transport is not None:
                    sock.transport.abort()
            pipe.send(None)
        elif command == "reset":
            load.reset()
            pipe.send(None)
        elif command == "last":
            pipe.send(load.sockets[0].last.decode() if load.sockets else "")
        elif command == "count":
            pipe.send(load.received)
        elif command == "report":
            pipe.send({"received": load.received, "duplicates": load.duplicates,
                       "resyncs": load.resyncs, "lost_sockets": load.lost_sockets,
                       "publish_lat": load.publish_lat.tobytes(),
                       "arrived": load.arrived.tobytes()})  # fmt: skip
        elif command == "quit":
            for sock in load.sockets:
                if sock.transport is not None:
                    sock.transport.abort()
            pipe.send(None)
            return


class Remote:
    """The driver's end of one load process."""

    def __init__(self, port: int, tokens: list[str], stream: str) -> None:
        self.pipe, theirs = mp.Pipe()
        self.proc = mp.Process(target=load_worker, args=(port, tokens, stream, theirs))
        self.proc.start()

    def send(self, command: str, arg: Any = None) -> None:
        self.pipe.send((command, arg))

    def answer(self, timeout: float) -> Any:
        if not self.pipe.poll(timeout):
            raise TimeoutError(f"a load process did not answer within {timeout:.0f} s")
        return self.pipe.recv()

    def ask(self, command: str, arg: Any = None, timeout: float = 30.0) -> Any:
        self.send(command, arg)
        return self.answer(timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("quit", timeout=10)
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()


# --- the driver -------------------------------------------------------------------------


class Poster(threading.Thread):
    """Posts a tweet every 1/``rate`` seconds until stopped (one thread: a steady rate)."""

    def __init__(self, http: httpx.Client, rate: float) -> None:
        super().__init__(daemon=True)
        self.http, self.rate = http, rate
        self.posted = self.failed = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stopping.is_set():
            due = start + self.posted / self.rate
            self.stopping.wait(max(0.0, due - time.monotonic()))
            try:
                r = self.http.post("/tweets", json={"content": f"t {time.time():.6f} #storm"})
                r.raise_for_status()
            except httpx.HTTPError:
                self.failed += 1
            self.posted += 1


def window(lat: list[float], arrived: list[float], start: float, end: float) -> dict[str, Any]:
    """Latency percentiles (ms) of the events that arrived in [start, end)."""
    picked = sorted(x for x, t in zip(lat, arrived, strict=True) if start <= t < end)
    ms = {f"p{p}": round(pct(picked, p) * 1000, 1) for p in (50, 99, 100)}
    return {"events": len(picked), **ms}


def admission(metrics: str) -> dict[str, Any]:
    """The app's ``murmur_ws_admission_*`` gauges, by kind."""
    found = {}
    for line in metrics.splitlines():
        if line.startswith("murmur_ws_admission_"):
            name, value = line.rsplit(" ", 1)
            found[name.removeprefix("murmur_ws_admission_")] = float(value)
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.fanout import Stack  # its own redis-server, database and app

    raise_fd_limit()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    env = {
        "ENVIRONMENT": "test", "MONGODB_DB": "bench", "JWT_SECRET": SECRET,
        "ACCESS_TOKEN_TTL_SECONDS": "3600", "DATA_DIR": str(work), "LOG_LEVEL": "WARNING",
        "RATE_LIMITS_ENABLED": "false", **dict(kv.split("=", 1) for kv in args.env),
    }  # fmt: skip
    stack_args = argparse.Namespace(
        cluster=args.cluster, apps=args.apps, workers=args.workers,
        redis_cluster=args.redis_cluster,
    )  # fmt: skip
    stack = Stack(stack_args, work, env)
    remotes: list[Remote] = []
    try:
        users = asyncio.run(make_users(stack.mongo_url, "bench", args.steady + args.storm + 1))
        (author_id, author_token), rest = users[0], [t for _, t in users[1:]]
        stream = f"user:{author_id}"
        port = stack.ports[0]
        http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {author_token}"},
            timeout=30,
        )
        steady = Remote(port, rest[: args.steady], stream)
        storm = Remote(port, rest[args.steady :], stream)
        remotes = [steady, storm]
        connected = steady.ask("connect", (1000, 120.0, 30.0, None), timeout=150)
        if not args.cold:
            # The storm sockets were here before (a rolling restart brings them back; a
            # process that saw them keeps their sessions for 5 minutes): cached sessions, so
            # the storm is the hub's own work rather than the database's session reads.
            storm.ask("connect", (1000, 120.0, 30.0, None), timeout=150)
            storm.ask("drop")
            time.sleep(2)
        http.post("/tweets", json={"content": f"t {time.time():.6f} seed"}).raise_for_status()
        deadline = time.monotonic() + 20
        while steady.ask("count") < args.steady and time.monotonic() < deadline:
            time.sleep(0.1)
        steady.ask("reset")  # counts and latencies start now
        poster = Poster(http, args.rate)
        t0 = time.time()
        poster.start()
        # The storm sockets' process died ``--missed`` seconds before they land here: they saw
        # what the steady ones saw until then, and each replays the rest.
        missed = min(args.missed, args.before)
        time.sleep(args.before - missed)
        since = steady.ask("last")
        time.sleep(missed)
        attempt = args.attempt_timeout
        storm.send("connect", (args.storm_concurrency, args.storm_limit, attempt, since))
        result = storm.answer(args.storm_limit + 30)
        storm_at, storm_end = result["started"], result["started"] + result["seconds"]
        time.sleep(args.after)
        poster.stopping.set()
        poster.join(timeout=30)
        t_end = time.time()
        expected = (poster.posted - poster.failed) * args.steady
        deadline = time.monotonic() + 10
        while steady.ask("count") < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        report = steady.ask("report")
        # Each web process's gauges (through nginx, one of them would answer).
        urls = [w.url for w in stack.cluster.web] if stack.cluster else [f"http://127.0.0.1:{port}"]
        metrics: Any = []
        for url in urls:
            try:
                metrics.append(admission(httpx.get(f"{url}/metrics", timeout=30).text))
            except httpx.HTTPError as exc:  # the report matters more than the gauges
                metrics.append({"error": repr(exc)})
        if not stack.cluster:
            metrics = metrics[0]
        http.close()
    finally:
        for remote in remotes:
            remote.stop()
        stack.stop()
    lat = array("d", report["publish_lat"]).tolist()
    arrived = array("d", report["arrived"]).tolist()
    return {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": args.label,
        "steady_sockets": connected["subscribed"],
        "storm_sockets": args.storm,
        "storm_sessions": "cold" if args.cold else "cached",
        "cluster": {"web": args.apps, "workers": args.workers, "redis_cluster": args.redis_cluster}
        if args.cluster
        else None,
        "storm_missed_seconds": args.missed,
        "tweets": poster.posted,
        "tweets_failed": poster.failed,
        "steady_expected": expected,
        "steady_delivered": report["received"],
        "steady_duplicates": report["duplicates"],
        "steady_resyncs": report["resyncs"],
        "steady_sockets_lost": report["lost_sockets"],
        "steady_publish_to_receive_ms": {
            "before": window(lat, arrived, t0, storm_at),
            "during": window(lat, arrived, storm_at, storm_end),
            "after": window(lat, arrived, storm_end, t_end + 10),
        },
        "storm_seconds": round(result["seconds"], 2),
        "storm_subscribed": result["subscribed"],
        "storm_failed": result["failed"],  # still not subscribed at --storm-limit
        "storm_retries": result["retries"],
        "storm_refusals": merge_counts([result["failures"]]),  # why attempts failed
        "server_admission": metrics,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steady", type=int, default=1000, help="sockets that never drop")
    parser.add_argument("--storm", type=int, default=5000, help="sockets connecting at once")
    parser.add_argument("--rate", type=float, default=5.0, help="tweets per second")
    parser.add_argument("--before", type=float, default=5.0, help="seconds before the storm")
    parser.add_argument("--after", type=float, default=5.0, help="seconds after it ends")
    parser.add_argument("--storm-limit", type=float, default=40.0, help="give the storm up to")
    parser.add_argument("--storm-concurrency", type=int, default=5000, help="connects at once")
    parser.add_argument(
        "--attempt-timeout", type=float, default=10.0, help="one storm connect, then retry"
    )
    parser.add_argument(
        "--missed", type=float, default=2.0, help="seconds of events each storm socket missed"
    )
    parser.add_argument(
        "--cold", action="store_true", help="storm sessions never seen here (database-bound)"
    )
    parser.add_argument(
        "--cluster", action="store_true",
        help="through nginx: server/cluster.py's --apps web processes and --workers workers",
    )  # fmt: skip
    parser.add_argument("--apps", type=int, default=2, help="web processes (--cluster)")
    parser.add_argument("--workers", type=int, default=1, help="outbox workers (--cluster)")
    parser.add_argument("--redis-cluster", action="store_true", help="--cluster on a Redis Cluster")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the app")
    parser.add_argument("--label", default="")
    parser.add_argument("--workdir", default="/tmp/murmur-bench-storm")
    parser.add_argument("--out", default="bench/storm.json")
    args = parser.parse_args()
    if args.redis_cluster and not args.cluster:
        parser.error("--redis-cluster needs --cluster")
    result = run(args)
    print(json.dumps(result, indent=2))
    path = Path(args.out)
    runs = json.loads(path.read_text()) if path.exists() else []
    runs.append(result)
    path.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
