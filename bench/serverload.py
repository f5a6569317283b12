"""What a benchmark's tweets cost Redis and the database, per tweet and per 1,000 tweets/s.

``bench/fanout.py`` takes a ``Snapshot`` before and after each phase (after the fan-out the
phase caused is done: every event delivered and the outbox empty) and reports the difference:

- **Redis**: commands, from ``INFO commandstats`` of every redis-server the run started (one,
  or each node of a Redis Cluster, masters and replicas apart: a replica runs every write
  again); CPU seconds from ``/proc`` of each; ``used_memory``.
- **Database**: commands it served, from ``serverStatus`` ``opcounters`` (every client: web
  processes, workers, this benchmark), and its CPU seconds from ``/proc``; plus the web
  processes' own round trips by command and collection (``murmur_db_commands_total`` on each
  one's ``/metrics``; a worker serves no HTTP, so its commands are the rest of the total).

Background work (heartbeats, the worker's polls, process reports, each process re-stamping
its sockets' per-user counts every 10 s) goes on without tweets: ``idle`` is measured over a
quiet window first (10 s by default: one whole re-stamp period) and its rate times each
phase's window is subtracted, so what is left is the cost of the tweets; a phase window
holding one re-stamp more or less than the average is noise of ±2 commands per socket. That
cost per tweet, times 1,000, is the linear extrapolation "per 1,000 tweets/s" (commands/s,
and cores = CPU seconds/s).

``key_sizes`` samples the per-user keys a tweet's fan-out grows (a follower's ``home`` replay
log and stored timeline) with ``MEMORY USAGE``: bytes per key and per entry.

SecantusDB counts each command once in ``opcounters`` (an ``insert`` of 100 documents is one
``insert``); a real MongoDB counts inserted documents and updated statements, so its
``mongostat`` shows more for a bulk write. The benchmark's own ``INFO`` calls are left out of
the Redis counts, its ``serverStatus`` and outbox polls out of the database's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis
from pymongo import MongoClient

from bench.stack import proc_stats
from server.dbmetrics import commands_in
from server.outbox import OUTBOXES

# The benchmark's own commands, not the server's.
_OWN_REDIS = {"info"}


@dataclass
class RedisNode:
    """One redis-server of the run: its name, port and pid."""

    name: str
    port: int
    pid: int


@dataclass
class Snapshot:
    """Counters at one moment; only differences of two mean anything."""

    at: float
    redis_calls: dict[str, dict[str, int]]  # node -> command -> calls
    redis_cpu: dict[str, float]
    redis_memory: dict[str, int]
    redis_role: dict[str, str]
    db_ops: dict[str, int]
    db_cpu: float
    web_db_commands: dict[str, float]  # "command collection" -> count, all web processes
    own_db_commands: int  # this benchmark's, to leave out


@dataclass
class ServerLoad:
    """Reads the counters of a run's Redis nodes, database and web processes."""

    redis_nodes: list[RedisNode]
    mongodb_url: str
    db_pid: int
    web_urls: list[str]
    db_name: str = "bench"
    own_db_commands: int = 0
    _clients: dict[str, redis.Redis] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mongo: MongoClient[dict[str, Any]] = MongoClient(self.mongodb_url)
        self.http = httpx.Client(timeout=10)
        for node in self.redis_nodes:
            self._clients[node.name] = redis.Redis(port=node.port, decode_responses=True)

    def close(self) -> None:
        self.mongo.close()
        self.http.close()
        for client in self._clients.values():
            client.close()

    def snapshot(self) -> Snapshot:
        """Every counter now."""
        calls, cpu, memory, role = {}, {}, {}, {}
        for node in self.redis_nodes:
            client = self._clients[node.name]
            stats = client.info("commandstats")
            calls[node.name] = {
                name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()
            }
            memory[node.name] = int(client.info("memory")["used_memory"])
            role[node.name] = str(client.info("replication")["role"])
            cpu[node.name] = proc_stats(node.pid)[1]
        ops = self.mongo.admin.command("serverStatus")["opcounters"]
        self.own_db_commands += 1  # that serverStatus
        web: dict[str, float] = {}
        for url in self.web_urls:
            text = self.http.get(url + "/metrics").text
            for (command, collection), n in commands_in(text).items():
                key = f"{command} {collection}".strip()
                web[key] = web.get(key, 0) + n
        return Snapshot(
            at=time.monotonic(), redis_calls=calls, redis_cpu=cpu, redis_memory=memory,
            redis_role=role, db_ops={k: int(v) for k, v in ops.items()},
            db_cpu=proc_stats(self.db_pid)[1], web_db_commands=web,
            own_db_commands=self.own_db_commands,
        )  # fmt: skip

    def key_sizes(self, sample: int = 20) -> dict[str, Any]:
        """Bytes per key and per entry of ``sample`` follower home logs and stored timelines
        (from the masters: a replica holds the same again)."""
        kinds = {"home_log": ("murmur:log:*home:*", "xlen"), "timeline": ("murmur:*:tl:*", "zcard")}
        found: dict[str, Any] = {}
        for kind, (pattern, length) in kinds.items():
            keys = sizes = entries = 0
            for node in self.redis_nodes:
                client = self._clients[node.name]
                if client.info("replication")["role"] != "master":
                    continue
                for key in client.scan_iter(match=pattern, count=1000):
                    if keys >= sample:
                        break
                    keys += 1
                    sizes += int(client.memory_usage(key, samples=0) or 0)
                    entries += int(getattr(client, length)(key))
            found[kind] = {
                "keys": keys,
                "bytes_per_key": round(sizes / max(1, keys)),
                "entries_per_key": round(entries / max(1, keys), 1),
                "bytes_per_entry": round(sizes / max(1, entries)),
            }
        return found

    def settle(self, limit: float) -> bool:
        """Wait (up to ``limit`` s) until no write waits for the worker; whether none does."""
        deadline = time.monotonic() + limit
        db = self.mongo[self.db_name]
        while True:
            pending = sum(db[name].count_documents({"pending": True}) for name in OUTBOXES)
            self.own_db_commands += len(OUTBOXES)
            if not pending or time.monotonic() >= deadline:
                return not pending
            time.sleep(0.25)


def _delta(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """What the servers did between two snapshots (raw counts, CPU seconds, bytes)."""
    masters = [n for n, r in after.redis_role.items() if r == "master"]
    by_command: dict[str, int] = {}
    calls: dict[str, int] = {}
    for node, now in after.redis_calls.items():
        then = before.redis_calls.get(node, {})
        moved = {c: n - then.get(c, 0) for c, n in now.items() if c not in _OWN_REDIS}
        calls[node] = sum(moved.values())
        for command, n in moved.items():
            if n and node in masters:  # a replica's are the masters' writes again
                by_command[command] = by_command.get(command, 0) + n
    db_ops = {k: v - before.db_ops.get(k, 0) for k, v in after.db_ops.items()}
    web = {k: v - before.web_db_commands.get(k, 0) for k, v in after.web_db_commands.items()}
    return {
        "seconds": after.at - before.at,
        "redis_commands": sum(calls.values()),
        "redis_commands_masters": sum(calls[n] for n in masters),
        "redis_by_command": by_command,
        "redis_cpu": sum(after.redis_cpu[n] - before.redis_cpu[n] for n in after.redis_cpu),
        "redis_cpu_masters": sum(after.redis_cpu[n] - before.redis_cpu[n] for n in masters),
        "redis_memory": sum(after.redis_memory.values()) - sum(before.redis_memory.values()),
        "redis_memory_masters": sum(
            after.redis_memory[n] - before.redis_memory[n] for n in masters
        ),
        "db_commands": sum(db_ops.values()) - (after.own_db_commands - before.own_db_commands),
        "db_ops": db_ops,
        "db_cpu": after.db_cpu - before.db_cpu,
        "web_db_commands": sum(web.values()),
        "web_db_by_command": {k: v for k, v in web.items() if v},
    }


def idle_rates(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """The servers' background work per second, with no tweets (subtracted from phases)."""
    d = _delta(before, after)
    s = d["seconds"]
    ranked = sorted(d["redis_by_command"].items(), key=lambda kv: -kv[1])
    return {
        "seconds": round(s, 2),
        **{k: round(d[k] / s, 3) for k in _SCALARS if not k.startswith("redis_memory")},
        "redis_by_command_masters": {k: round(v / s, 2) for k, v in ranked},
    }


# What the idle rate is subtracted from (memory is not a rate).
_SCALARS = (
    "redis_commands", "redis_commands_masters", "redis_cpu", "redis_cpu_masters",
    "redis_memory", "redis_memory_masters", "db_commands", "db_cpu", "web_db_commands",
)  # fmt: skip


def report(
    before: Snapshot, after: Snapshot, tweets: int, idle: dict[str, Any] | None, drained: bool
) -> dict[str, Any]:
    """The phase's server load: totals, net of ``idle``, per tweet and per 1,000 tweets/s.
    ``drained``: the worker had applied every tweet by ``after`` (else the figures miss
    part of their cost, and say so)."""
    d = _delta(before, after)
    net = {k: d[k] - (idle or {}).get(k, 0.0) * d["seconds"] for k in _SCALARS}
    background = (idle or {}).get("redis_by_command_masters", {})
    d["redis_by_command"] = {
        c: n - background.get(c, 0.0) * d["seconds"] for c, n in d["redis_by_command"].items()
    }
    per = {k: v / max(1, tweets) for k, v in net.items()}

    def top(counts: dict[str, Any], n: int = 10) -> dict[str, float]:
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:n]
        return {k: round(v / max(1, tweets), 2) for k, v in ranked}

    return {
        "window_seconds": round(d["seconds"], 2),
        "tweets": tweets,
        "idle_subtracted": idle is not None,
        "outbox_drained": drained,
        "raw": {k: round(d[k], 3) for k in _SCALARS},
        "per_tweet": {
            "redis_commands": round(per["redis_commands"], 1),
            "redis_commands_masters": round(per["redis_commands_masters"], 1),
            "redis_cpu_ms": round(per["redis_cpu"] * 1000, 3),
            "redis_cpu_ms_masters": round(per["redis_cpu_masters"] * 1000, 3),
            "redis_memory_bytes": round(per["redis_memory"]),
            "redis_memory_bytes_masters": round(per["redis_memory_masters"]),
            "db_commands": round(per["db_commands"], 1),
            "db_cpu_ms": round(per["db_cpu"] * 1000, 3),
            "web_db_commands": round(per["web_db_commands"], 2),
            "redis_by_command_masters": top(d["redis_by_command"], 14),
            "db_ops": top(d["db_ops"]),
            "web_db_by_command": top(d["web_db_by_command"]),
        },
        "per_1000_tweets_per_second": {
            "redis_commands_per_second": round(per["redis_commands"] * 1000),
            "redis_cores": round(per["redis_cpu"] * 1000, 2),
            "redis_cores_masters": round(per["redis_cpu_masters"] * 1000, 2),
            "db_commands_per_second": round(per["db_commands"] * 1000),
            "db_cores": round(per["db_cpu"] * 1000, 2),
        },
    }
