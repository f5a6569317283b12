"""Fan-out benchmark: real Redis, database and app processes, thousands of real WebSockets.

    .venv/bin/python bench/fanout.py --sockets 5000 --rate 1 --seconds 15 \
        --sustain-eps 35000 --storm

Starts redis-server, an embedded database and ``--apps`` ``murmur serve`` processes; creates
C signed-in users (sessions and access tokens as sign-in makes them); opens C authenticated
sockets from ``--load-procs`` load processes, each subscribed to ``user:<author>`` — the
channel a big author's followers' ``home`` subscriptions listen on. Then, in phases:

- ``latency``: the author posts ``--rate`` tweets/s through ``POST /tweets``;
- ``sustained`` (``--sustain-eps N [N ...]``): tweets at N / C per second, N delivered
  events/s (one phase per N);
- ``storm`` (``--storm``): every socket drops and reconnects at once, resubscribing with
  ``since`` = the last id it saw, while tweets keep coming at ``--rate``.

Each phase reports events delivered vs expected (loss, counting each id once per socket),
delivery rate, and two latencies: **publish-to-receive**, from the event id (the Redis Stream
id the hub's log gives the event when it is published: Redis's clock in ms), and
**POST-to-receive**, from the time the benchmark sent the POST (carried in the content). Plus
server RSS per socket and server and load-process CPU, and ``server_load``: what the phase's
tweets cost Redis and the database, per tweet and per 1,000 tweets/s (``bench/serverload.py``;
the servers' background over ``--idle-seconds`` measured first and subtracted).

``--stream home`` subscribes each socket to its own ``home`` instead, and has every socket's
user follow the author: each tweet is pushed to that many stored timelines and ``home:``
streams, the path of an ordinary author (``--followers N`` adds followers with the default
``user:<author>``). ``--cluster`` runs ``server/cluster.py`` behind nginx (``--redis-cluster``:
on a Redis Cluster). Results are appended to ``--out``
(JSON, with the command), and a PNG is drawn if matplotlib is installed.

The load clients are cheap on purpose: each load process runs uvloop with one
``asyncio.Protocol`` per socket speaking just enough RFC 6455 (handshake, unmasked server
frames, masked client frames, pong) — no task, no queue and no JSON parse per socket or frame.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing as mp
import os
import random
import subprocess
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

from bench.serverload import RedisNode, ServerLoad, idle_rates, report  # noqa: E402
from bench.stack import (  # noqa: E402
    SECRET,
    add_followers,
    make_users,
    pct,
    proc_stats,
    raise_fd_limit,
    start_app,
    start_redis,
)
from server.cluster import Cluster, RedisCluster  # noqa: E402
from server.embedded import EmbeddedMongo, free_port  # noqa: E402

# --- the load process -------------------------------------------------------------------


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 §5.3); payloads here are short."""
    mask = os.urandom(4)
    n = len(payload)
    header = bytes([0x80 | opcode, 0x80 | n]) if n < 126 else bytes([0x80 | opcode, 0xFE])
    if n >= 126:
        header += n.to_bytes(2, "big")
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return header + mask + masked


class Socket(asyncio.Protocol):
    """One benchmark socket: handshake, subscribe, then count events as they arrive."""

    __slots__ = (
        "load", "token", "transport", "buf", "open", "last", "since", "subscribed", "outcome"
    )  # fmt: skip

    def __init__(self, load: Load, token: str, since: bytes | None, last: bytes) -> None:
        self.load = load
        self.token = token
        self.transport: Any = None
        self.buf = b""
        self.open = False
        self.subscribed = False
        self.since = since
        self.last = last  # the newest event id seen, zero-padded so that bytes order = id order
        # "ok" once subscribed, else why this attempt failed (the client then retries).
        self.outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def settle(self, result: str) -> None:
        if not self.outcome.done():
            self.outcome.set_result(result)

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /ws HTTP/1.1\r\nHost: {self.load.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {self.token}\r\n\r\n".encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if self.subscribed:
            self.load.lost_sockets += 1
        self.settle("closed after handshake" if self.open else "closed before handshake")
        self.subscribed = self.open = False

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buf + data if self.buf else data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.settle("HTTP " + buf[9:12].decode("latin-1"))
                self.transport.abort()
                return
            buf = buf[end + 4 :]
            self.open = True
            sub: dict[str, str] = {"type": "subscribe", "stream": self.load.stream}
            if self.since:
                sub["since"] = self.since.decode()
            self.transport.write(_client_frame(1, json.dumps(sub).encode()))
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, n = buf[pos], buf[pos + 1] & 0x7F
            start = pos + 2
            if n == 126:
                n, start = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif n == 127:
                n, start = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            if size < start + n:
                break
            payload = buf[start : start + n]
            pos = start + n
            opcode = b0 & 0x0F
            if opcode == 1:
                self.load.on_text(self, payload, now)
            elif opcode == 9:
                self.transport.write(_client_frame(10, payload))
        self.buf = buf[pos:]


class Load:
    """All the sockets of one load process, and what they measured."""

    def __init__(self, host: str, ports: list[int], tokens: list[str], stream: str) -> None:
        self.host = host
        self.ports = ports
        self.tokens = tokens
        self.stream = stream
        self.sockets: list[Socket] = []
        self.subscribed = 0
        self.lost_sockets = 0
        self.failed_connects = 0  # sockets that never subscribed within the limit
        self.retries = 0  # attempts after a failed one
        self.failures: dict[str, int] = {}  # why attempts failed
        self.all_subscribed: asyncio.Event = asyncio.Event()
        self.reset()

    def reset(self) -> None:
        self.received = 0
        self.duplicates = 0
        self.resyncs = 0
        self.publish_lat = array("d")  # receive time - event id's ms
        self.post_lat = array("d")  # receive time - POST time in the content
        self.first_recv = 0.0
        self.last_recv = 0.0

    def on_text(self, sock: Socket, payload: bytes, now: float) -> None:
        if payload.startswith(b'{"type":"event"'):
            i = payload.find(b'"id":"') + 6
            event_id = payload[i : payload.find(b'"', i)]
            ms, _, seq = event_id.partition(b"-")
            key = ms.rjust(15, b"0") + b"-" + seq.rjust(8, b"0")
            if key <= sock.last:
                self.duplicates += 1
                return
            sock.last = key
            self.received += 1
            self.first_recv = self.first_recv or now
            self.last_recv = now
            self.publish_lat.append(now - int(ms) / 1000)
            j = payload.find(b'"content":"t ') + 13
            self.post_lat.append(now - float(payload[j : payload.find(b" ", j)]))
        elif payload.startswith(b'{"type":"subscribed"'):
            sock.subscribed = True
            sock.settle("ok")
            self.subscribed += 1
            if self.subscribed == len(self.tokens):
                self.all_subscribed.set()
        elif payload.startswith(b'{"type":"resync"'):
            self.resyncs += 1
        elif payload.startswith(b'{"type":"error"') and not sock.subscribed:
            i = payload.find(b'"code":"') + 8
            sock.settle("error " + payload[i : payload.find(b'"', i)].decode())

    async def connect_all(
        self, concurrency: int, resume: bool, limit: float, attempt_timeout: float
    ) -> float:
        """Open (or reopen) every socket; seconds until all are subscribed, or ``limit``
        (then ``self.subscribed`` says how many made it).

        Like a mobile client, a socket whose attempt fails (refused, reset, timed out after
        ``attempt_timeout``, an HTTP or ``error`` answer instead of ``subscribed``) tries again
        after an exponential backoff with jitter: 0.5 s, 1 s, 2 s ... at most 8 s."""
        loop = asyncio.get_running_loop()
        t0 = time.time()
        self.subscribed = 0
        self.failed_connects = self.retries = 0
        self.failures = {}
        self.all_subscribed.clear()
        old = self.sockets
        sem = asyncio.Semaphore(concurrency)

        def fresh(i: int, token: str) -> Socket:
            since = None
            last = old[i].last if resume and old else b""
            if last:
                ms, _, seq = last.partition(b"-")
                since = ms.lstrip(b"0") + b"-" + (seq.lstrip(b"0") or b"0")
            return Socket(self, token, since, last)

        self.sockets = [fresh(i, t) for i, t in enumerate(self.tokens)]

        async def attempt(sock: Socket, port: int) -> str:
            left = limit - (time.time() - t0)
            try:
                async with sem:
                    await asyncio.wait_for(
                        loop.create_connection(lambda: sock, "127.0.0.1", port),
                        max(0.1, min(left, attempt_timeout)),
                    )
            except TimeoutError:  # (a subclass of OSError)
                return "TCP connect timeout"
            except OSError as exc:
                return type(exc).__name__
            left = limit - (time.time() - t0)
            try:
                return await asyncio.wait_for(sock.outcome, max(0.1, min(left, attempt_timeout)))
            except TimeoutError:
                sock.transport.abort()  # no late second subscription from this attempt
                return "no answer to the handshake"

        async def one(i: int) -> None:
            port = self.ports[i % len(self.ports)]
            for n in range(1_000_000):
                sock = self.sockets[i]
                result = await attempt(sock, port)
                if result == "ok":
                    return
                self.failures[result] = self.failures.get(result, 0) + 1
                backoff = min(8.0, 0.5 * 2**n) * random.uniform(0.5, 1.5)
                if time.time() - t0 + backoff >= limit:
                    self.failed_connects += 1
                    return
                await asyncio.sleep(backoff)
                self.retries += 1
                self.sockets[i] = Socket(self, sock.token, sock.since, sock.last)

        async def everything() -> None:
            await asyncio.gather(*(one(i) for i in range(len(self.sockets))))
            await self.all_subscribed.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everything(), limit)
        return time.time() - t0

    async def storm(self, concurrency: int, limit: float, attempt_timeout: float) -> dict[str, Any]:
        """Drop every socket at once and reconnect each with ``since``."""
        t0 = time.time()
        for sock in self.sockets:
            sock.subscribed = False  # dropped on purpose
            if sock.transport is not None:
                sock.transport.abort()
        reconnect = await self.connect_all(concurrency, True, limit, attempt_timeout)
        return {
            "storm_at": t0,
            "reconnect_seconds": reconnect,
            "resubscribed": self.subscribed,
            "retries": self.retries,
            "failures": self.failures,
        }

    def report(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "duplicates": self.duplicates,
            "resyncs": self.resyncs,
            "lost_sockets": self.lost_sockets,
            "open": sum(1 for s in self.sockets if s.subscribed),
            "subscribed": self.subscribed,
            "failed_connects": self.failed_connects,
            "retries": self.retries,
            "failures": self.failures,
            "first_recv": self.first_recv,
            "last_recv": self.last_recv,
            "publish_lat": self.publish_lat.tobytes(),
            "post_lat": self.post_lat.tobytes(),
        }


def load_worker(ports: list[int], tokens: list[str], stream: str, pipe: Pipe) -> None:
    """One load process: obeys the driver's commands over ``pipe``."""
    raise_fd_limit()
    import uvloop

    uvloop.run(_load_main(ports, tokens, stream, pipe))


async def _load_main(ports: list[int], tokens: list[str], stream: str, pipe: Pipe) -> None:
    load = Load("127.0.0.1", ports, tokens, stream)
    while True:
        command, arg = await asyncio.to_thread(pipe.recv)
        if command == "connect":
            pipe.send(await load.connect_all(arg[0], False, arg[1], arg[2]))
        elif command == "reset":
            load.reset()
            pipe.send(None)
        elif command == "count":
            pipe.send(load.received)
        elif command == "storm":
            pipe.send(await load.storm(*arg))
        elif command == "report":
            pipe.send(load.report())
        elif command == "quit":
            for sock in load.sockets:
                if sock.transport is not None:
                    sock.transport.abort()
            pipe.send(None)
            return


# --- the driver -------------------------------------------------------------------------


class BenchTimeout(Exception):
    """A load process did not answer in time."""


class Driver:
    def __init__(self, pipes: list[Pipe]) -> None:
        self.pipes = pipes

    def all(self, command: str, arg: Any = None, timeout: float = 30.0) -> list[Any]:
        for p in self.pipes:
            p.send((command, arg))
        return self.answers(timeout)

    def answers(self, timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        answers = []
        for p in self.pipes:
            if not p.poll(max(0.0, deadline - time.monotonic())):
                raise BenchTimeout(f"a load process did not answer within {timeout:.0f} s")
            answers.append(p.recv())
        return answers


def listen_overflows() -> int:
    """Connections dropped because a listen queue was full (machine-wide, from the kernel)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split(), strict=True))["ListenOverflows"])
    return 0


def merge_counts(counts: Any) -> dict[str, int]:
    merged: dict[str, int] = {}
    for count in counts:
        for key, n in count.items():
            merged[key] = merged.get(key, 0) + n
    return merged


def post_for(http: httpx.Client, rate: float, seconds: float, posters: int) -> tuple[int, float]:
    """POST tweets at ``rate``/s for ``seconds`` from ``posters`` threads."""
    posted = 0
    lock = threading.Lock()
    start = time.monotonic()

    def poster() -> None:
        nonlocal posted
        while True:
            with lock:
                n = posted
                due = start + n / rate
                if due - start >= seconds:
                    return
                posted += 1
            time.sleep(max(0.0, due - time.monotonic()))
            r = http.post("/tweets", json={"content": f"t {time.time():.6f} #bench"})
            r.raise_for_status()

    threads = [threading.Thread(target=poster) for _ in range(posters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return posted, time.monotonic() - start


def phase(
    name: str,
    *,
    driver: Driver,
    http: httpx.Client,
    apps: list[Any],  # anything with a pid: the server's processes
    workers: list[mp.Process],
    sockets: int,
    rate: float,
    seconds: float,
    posters: int,
    drain_seconds: float,
    storm_concurrency: int = 0,
    storm_timeout: float = 0.0,
    attempt_timeout: float = 0.0,
    load: ServerLoad | None = None,
    idle: dict[str, Any] | None = None,
) -> dict[str, Any]:
    driver.all("reset")
    if load is not None:  # from a quiet server: the last phase's fan-out is not this one's
        load.settle(drain_seconds)
        load_start = load.snapshot()
    before = [proc_stats(p.pid) for p in apps]
    load_before = [proc_stats(w.pid or 0) for w in workers]
    storm: list[dict[str, float]] = []
    if storm_concurrency:
        # Reconnect everything while the author keeps posting.
        for p in driver.pipes:
            p.send(("storm", (storm_concurrency, storm_timeout, attempt_timeout)))
    posted, elapsed = post_for(http, rate, seconds, posters)
    if storm_concurrency:
        overflows = listen_overflows()
        storm = driver.answers(storm_timeout + 10)
        overflows = listen_overflows() - overflows
    expected = posted * sockets
    deadline = time.monotonic() + drain_seconds
    while sum(driver.all("count")) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    if load is not None:  # the work the tweets caused after delivery (the worker's) counts too
        drained = load.settle(drain_seconds)
        server_load = report(load_start, load.snapshot(), posted, idle, drained)
    after = [proc_stats(p.pid) for p in apps]
    load_after = [proc_stats(w.pid or 0) for w in workers]
    reports = driver.all("report")
    received = sum(r["received"] for r in reports)
    pub: list[float] = []
    post: list[float] = []
    for r in reports:
        pub += array("d", r["publish_lat"]).tolist()
        post += array("d", r["post_lat"]).tolist()
    pub.sort()
    post.sort()
    first = min((r["first_recv"] for r in reports if r["first_recv"]), default=0.0)
    last = max((r["last_recv"] for r in reports), default=0.0)
    result: dict[str, Any] = {
        "phase": name,
        "tweets": posted,
        "tweets_per_second": round(posted / elapsed, 2),
        "expected": expected,
        "delivered": received,
        "lost": expected - received,
        "duplicates": sum(r["duplicates"] for r in reports),
        "resyncs": sum(r["resyncs"] for r in reports),
        "delivered_per_second": round(received / max(last - first, elapsed)),
        "publish_to_receive_ms": {str(p): round(pct(pub, p) * 1000, 1) for p in (50, 95, 99, 100)},
        "post_to_receive_ms": {str(p): round(pct(post, p) * 1000, 1) for p in (50, 95, 99, 100)},
        "server_cpu_seconds_per_second": round(
            sum(a[1] - b[1] for a, b in zip(after, before, strict=True)) / elapsed, 2
        ),
        "cpu_seconds_per_second_by_process": [
            round((a[1] - b[1]) / elapsed, 2) for a, b in zip(after, before, strict=True)
        ],
        "load_cpu_seconds_per_second": round(
            sum(a[1] - b[1] for a, b in zip(load_after, load_before, strict=True)) / elapsed, 2
        ),
    }
    if load is not None:
        result["server_load"] = server_load
    if storm:
        storm_at = min(s["storm_at"] for s in storm)
        result["storm_reconnect_seconds"] = round(
            max(s["storm_at"] + s["reconnect_seconds"] for s in storm) - storm_at, 2
        )
        result["storm_resubscribed"] = sum(int(s["resubscribed"]) for s in storm)
        result["storm_retries"] = sum(int(s["retries"]) for s in storm)
        result["storm_failures"] = merge_counts(s["failures"] for s in storm)
        result["storm_listen_overflows"] = overflows
        result["storm_max_delivery_ms"] = round(pub[-1] * 1000, 1) if pub else None
    return result


class Stack:
    """What the benchmark runs against: its own redis-server, embedded database and
    ``--apps`` app processes on their own ports; or, with ``--cluster``, server/cluster.py's
    cluster — ``--apps`` web processes and ``--workers`` outbox workers behind nginx, every
    socket and POST through nginx's one port (what docs/deploy.md's figures come from)."""

    def __init__(self, args: argparse.Namespace, work: Path, env: dict[str, str]) -> None:
        self.cluster: Cluster | None = None
        self.mongo: EmbeddedMongo | None = None
        self.redis: subprocess.Popen[bytes] | None = None
        self.apps: list[subprocess.Popen[bytes]] = []
        if args.cluster:
            run_dir = work / f"cluster-{os.getpid()}"
            self.cluster = Cluster(
                run_dir, web=args.apps, workers=args.workers, env=env,
                redis_cluster=args.redis_cluster,
            )  # fmt: skip
            self.cluster.start()
            self.mongo_url = self.cluster.mongodb_url or ""
            self.ports = [self.cluster.port]
            # Server CPU and memory: the web processes, then the workers.
            self.procs: list[Any] = [*self.cluster.web, *self.cluster.workers]
            return
        redis_port = free_port()
        self.redis = start_redis(redis_port)
        self.mongo = EmbeddedMongo(":memory:")
        self.mongo_url = self.mongo.start()
        env = {**env, "MONGODB_URL": self.mongo_url,
               "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}  # fmt: skip
        self.ports = [free_port() for _ in range(args.apps)]
        for i, port in enumerate(self.ports):
            self.apps.append(start_app(env, port, work / f"app{i}.log"))
        self.procs = list(self.apps)
        self.redis_port = redis_port

    def server_load(self) -> ServerLoad:
        """What reads this stack's Redis, database and web processes' counters."""
        cluster = self.cluster
        if cluster is None:
            assert self.redis is not None and self.mongo is not None and self.mongo.process
            nodes = [RedisNode("redis", self.redis_port, self.redis.pid)]
            urls = [f"http://127.0.0.1:{p}" for p in self.ports]
            return ServerLoad(nodes, self.mongo_url, self.mongo.process.pid, urls)
        assert cluster.db is not None and cluster.db.process is not None
        redis = cluster.redis
        servers = redis.nodes if isinstance(redis, RedisCluster) else [redis] if redis else []
        nodes = [RedisNode(f"redis-{r.port}", r.port, r.pid or 0) for r in servers]
        urls = [w.url for w in cluster.web]
        return ServerLoad(nodes, self.mongo_url, cluster.db.process.pid, urls)

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            return
        for p in self.apps:
            p.terminate()
            p.wait(timeout=20)
        if self.mongo is not None:
            self.mongo.stop()
        if self.redis is not None:
            self.redis.terminate()


def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    workers: list[mp.Process] = []
    phases: list[dict[str, Any]] = []
    env = {
        "ENVIRONMENT": "test", "MONGODB_DB": "bench", "JWT_SECRET": SECRET,
        "ACCESS_TOKEN_TTL_SECONDS": "3600", "DATA_DIR": str(work), "LOG_LEVEL": "WARNING",
        "RATE_LIMITS_ENABLED": "false", "WS_MAX_SOCKETS_PER_USER": "5",
        **dict(kv.split("=", 1) for kv in args.env),
    }  # fmt: skip
    stack = Stack(args, work, env)
    apps, ports, mongo_url = stack.procs, stack.ports, stack.mongo_url
    load: ServerLoad | None = None
    idle: dict[str, Any] | None = None
    try:
        load = stack.server_load()
        users = asyncio.run(make_users(mongo_url, "bench", args.sockets + 1))
        author_id, author_token = users[0]
        tokens = [t for _, t in users[1:]]
        if args.followers:  # the first sockets' users (all of them for --stream home)
            fans = [uid for uid, _ in users[1 : args.followers + 1]]
            asyncio.run(add_followers(mongo_url, "bench", author_id, fans))
        stream = "home" if args.stream == "home" else f"user:{author_id}"
        headers = {"Authorization": f"Bearer {author_token}"}
        http = httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", headers=headers)
        http.post("/tweets", json={"content": f"t {time.time():.6f} warm-up"}).raise_for_status()
        base = [proc_stats(p.pid) for p in apps]

        pipes = []
        for k in range(args.load_procs):
            mine, theirs = mp.Pipe()
            proc = mp.Process(target=load_worker, args=(ports, tokens[k :: args.load_procs],
                                                        stream, theirs))  # fmt: skip
            proc.start()
            workers.append(proc)
            pipes.append(mine)
        driver = Driver(pipes)
        t0 = time.monotonic()
        # Every wait below has a limit: a run always ends and reports what it saw.
        overflows = listen_overflows()
        connect = (args.connect_concurrency, args.connect_timeout, args.attempt_timeout)
        driver.all("connect", connect, timeout=args.connect_timeout + 30)
        connect_seconds = time.monotonic() - t0
        overflows = listen_overflows() - overflows
        reports = driver.all("report")
        connected = sum(r["subscribed"] for r in reports)
        failed = sum(r["failed_connects"] for r in reports)  # still failing at the limit
        retries = sum(r["retries"] for r in reports)
        failures = merge_counts(r["failures"] for r in reports)
        time.sleep(1.0)  # let the server settle (and gc.freeze after the burst, if it does)
        held = [proc_stats(p.pid) for p in apps]
        if args.idle_seconds:  # the servers' background work, to subtract from each phase
            load.settle(args.drain_seconds)
            quiet, quiet_cpu = load.snapshot(), [proc_stats(p.pid)[1] for p in apps]
            time.sleep(args.idle_seconds)
            idle = idle_rates(quiet, load.snapshot())
            idle["cpu_seconds_per_second_by_process"] = [  # holding the sockets, no events
                round((proc_stats(p.pid)[1] - c) / idle["seconds"], 3)
                for p, c in zip(apps, quiet_cpu, strict=True)
            ]
        n = len(tokens)
        common: dict[str, Any] = {
            "driver": driver, "http": http, "apps": apps, "workers": workers, "sockets": n,
            "posters": args.posters, "drain_seconds": args.drain_seconds,
            "load": load, "idle": idle,
        }  # fmt: skip
        try:
            phases.append(phase("latency", rate=args.rate, seconds=args.seconds, **common))
            for eps in args.sustain_eps:  # one phase per rate asked for, lowest first
                rate = eps / n
                phases.append(phase("sustained", rate=rate, seconds=args.sustain_seconds, **common))
            if args.storm:
                phases.append(
                    phase("storm", rate=args.rate, seconds=args.storm_seconds,
                          storm_concurrency=args.connect_concurrency,
                          storm_timeout=args.connect_timeout,
                          attempt_timeout=args.attempt_timeout, **common)
                )  # fmt: skip
            open_at_end = sum(r["open"] for r in driver.all("report"))
            key_sizes = load.key_sizes() if args.followers else None
        except (BenchTimeout, httpx.HTTPError) as exc:
            phases.append({"phase": "aborted", "error": repr(exc)})
            open_at_end = -1
            key_sizes = None
        with contextlib.suppress(BenchTimeout):
            driver.all("quit", timeout=10)
        http.close()
    finally:
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.kill()
        if load is not None:
            load.close()
        stack.stop()

    rss_per_socket = sum((h[0] - b[0]) for h, b in zip(held, base, strict=True)) / n
    return {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": args.label,
        "apps": args.apps,
        "cluster": {"web": args.apps, "workers": args.workers} if args.cluster else None,
        "redis_cluster": args.redis_cluster,
        "stream": args.stream,
        "followers": args.followers,
        "idle_server_load_per_second": idle,
        "redis_key_sizes": key_sizes,  # a follower's home log and timeline, after the phases
        "processes": [getattr(p, "name", "app") for p in apps],
        "load_procs": args.load_procs,
        "sockets_held": n,
        "sockets_open_at_end": open_at_end,
        "sockets_subscribed_after_connect": connected,
        "failed_connects": failed,
        "connect_retries": retries,
        "connect_failures": failures,  # why attempts failed, before their retries
        "listen_overflows": overflows,  # the kernel's TcpExt counter: machine-wide
        "connect_seconds": round(connect_seconds, 1),
        "server_rss_kb_per_socket": round(rss_per_socket / 1024, 1),
        "phases": phases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--apps", type=int, default=1, help="app (web) processes")
    parser.add_argument(
        "--cluster", action="store_true", help="server/cluster.py behind nginx (see Stack)"
    )
    parser.add_argument("--workers", type=int, default=1, help="outbox workers (--cluster)")
    parser.add_argument(
        "--redis-cluster", action="store_true",
        help="--cluster on a 6-node Redis Cluster (3 masters) instead of one redis-server",
    )  # fmt: skip
    parser.add_argument(
        "--followers", type=int, default=None,
        help="socket users who follow the author (default: all with --stream home, else 0)",
    )  # fmt: skip
    parser.add_argument(
        "--stream", choices=("user", "home"), default="user",
        help="what each socket subscribes to: user:<author> (a pulled author's followers) or "
        "its own home (a pushed author's: one home: stream per follower)",
    )  # fmt: skip
    parser.add_argument(
        "--idle-seconds", type=float, default=10.0,
        help="measure the servers' background load this long first (0: none subtracted; "
        "10 s holds one re-stamp of the per-user socket counts)",
    )  # fmt: skip
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1.0, help="tweets per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--sustain-eps", type=float, nargs="*", default=[], help="delivered events/s (each)"
    )
    parser.add_argument("--sustain-seconds", type=float, default=15.0)
    parser.add_argument("--storm", action="store_true", help="all sockets reconnect at once")
    parser.add_argument("--storm-seconds", type=float, default=10.0)
    parser.add_argument("--connect-concurrency", type=int, default=1000, help="per load proc")
    parser.add_argument("--connect-timeout", type=float, default=120.0, help="connect/storm")
    parser.add_argument(
        "--attempt-timeout", type=float, default=30.0, help="one connect attempt, then retry"
    )
    parser.add_argument("--drain-seconds", type=float, default=15.0, help="wait for stragglers")
    parser.add_argument("--posters", type=int, default=4, help="threads posting tweets")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the apps")
    parser.add_argument("--label", default="")
    parser.add_argument("--workdir", default="/tmp/murmur-bench")
    parser.add_argument("--out", default="bench/results.json")
    args = parser.parse_args()
    if args.followers is None:
        args.followers = args.sockets if args.stream == "home" else 0
    if args.stream == "home" and args.followers < args.sockets:
        parser.error("--stream home: every socket's user must follow the author")
    if args.followers > args.sockets:
        parser.error("--followers: at most --sockets (the followers are the sockets' users)")
    if args.redis_cluster and not args.cluster:
        parser.error("--redis-cluster needs --cluster")
    result = run(args)
    print(json.dumps(result, indent=2))
    path = Path(args.out)
    runs = json.loads(path.read_text()) if path.exists() else []
    runs = [r for r in runs if "phases" in r]  # results of the old benchmark are not comparable
    runs.append(result)
    path.write_text(json.dumps(runs, indent=2) + "\n")
    plot(runs, path.with_suffix(".png"))


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    points = sorted(
        (r["sockets_held"], r["phases"][0]["publish_to_receive_ms"]) for r in runs if r["phases"]
    )
    fig, ax = plt.subplots()
    for p in ("50", "95", "99"):
        ax.plot([x for x, _ in points], [lat[p] for _, lat in points], marker="o", label=f"p{p}")
    ax.set_xlabel("sockets (one author, every socket follows)")
    ax.set_ylabel("publish-to-receive latency (ms)")
    ax.legend()
    fig.savefig(path)


if __name__ == "__main__":
    main()
