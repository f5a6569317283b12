"""A Murmur cluster on one machine: web processes and outbox workers behind Debian's nginx.

``scripts/cluster`` (``python -m server.cluster``) runs it in the foreground; the cluster
tests start the same pieces. nginx runs ``deploy/nginx/murmur.conf``, the file an operator
copies, with this run's ports in place of its upstream servers and listen port, so what is
tested is what is shipped. Everything started here is stopped here, by its PID.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from .embedded import EmbeddedMongo, free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX_SITE = ROOT / "deploy" / "nginx" / "murmur.conf"


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Until something listens on 127.0.0.1:``port`` (``proc`` must stay alive meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


class Process:
    """One child process, stopped by its PID: SIGTERM (or ``sig``), then SIGKILL. Its output
    goes to ``log_path`` (discarded when that is ``None``)."""

    def __init__(self, name: str, log_path: Path | None) -> None:
        self.name = name
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def spawn(self, cmd: list[str], env: dict[str, str] | None = None) -> None:
        if self.log_path is None:
            self.process = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL
            )
            return
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.stop(signal.SIGKILL)


class Redis(Process):
    """A redis-server without persistence on a loopback port (kept across ``restart``); its
    log in ``run_dir``, if given."""

    def __init__(self, run_dir: Path | None = None, port: int | None = None) -> None:
        super().__init__("redis", run_dir / "redis.log" if run_dir else None)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        cmd += ["--appendonly", "no", "--loglevel", "warning", "--maxclients", "20000"]
        self.spawn(cmd)
        assert self.process is not None
        wait_port(self.port, self.process)
        return self

    def restart(self) -> None:
        self.kill()
        self.start()


def cluster_ports(count: int, low: int = 20000, high: int = 55535) -> list[int]:
    """``count`` free loopback ports whose cluster bus ports (+10000) are free too: a Redis
    Cluster node needs both, so its port must be at most 55535."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(low, high)
        if port in ports:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        ports.append(port)
    return ports


class RedisClusterNode(Redis):
    """One ``redis-server --cluster-enabled yes`` node (its state in ``run_dir``)."""

    def __init__(self, run_dir: Path, port: int, node_timeout_ms: int) -> None:
        super().__init__(None, port)
        self.name = f"redis-{port}"
        self.dir = run_dir / f"node-{port}"
        self.node_timeout_ms = node_timeout_ms

    def start(self) -> RedisClusterNode:
        self.dir.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        cmd += ["--appendonly", "no", "--loglevel", "warning", "--maxclients", "20000"]
        cmd += ["--dir", str(self.dir), "--cluster-enabled", "yes"]
        cmd += ["--cluster-config-file", "nodes.conf"]
        cmd += ["--cluster-node-timeout", str(self.node_timeout_ms)]
        # A replica syncs at once (Redis waits 5 s for more replicas by default): one that
        # never synced cannot take over, so a master killed early would stay down.
        cmd += ["--repl-diskless-sync-delay", "0"]
        self.spawn(cmd)
        assert self.process is not None
        wait_port(self.port, self.process)
        return self

    def cli(self, *args: str, timeout: float = 10.0) -> str:
        """``redis-cli -p <port> args…``'s output."""
        binary = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        out = subprocess.run(
            [binary, "-h", "127.0.0.1", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return out.stdout


class RedisCluster:
    """A real Redis Cluster on loopback: ``masters`` masters with one replica each, a short
    ``cluster-node-timeout`` so a killed master's replica takes over within seconds.
    ``url`` names one node, as ``REDIS_URL`` does with ``REDIS_CLUSTER=true``."""

    def __init__(self, run_dir: Path, masters: int = 3, node_timeout_ms: int = 1000) -> None:
        self.run_dir = run_dir
        ports = cluster_ports(masters * 2)
        self.nodes = [RedisClusterNode(run_dir, p, node_timeout_ms) for p in ports]
        self.masters = masters

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self, timeout: float = 30.0) -> RedisCluster:
        try:
            for node in self.nodes:
                node.start()
            binary = shutil.which("redis-cli") or "/usr/bin/redis-cli"
            addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
            subprocess.run(
                [
                    binary,
                    "--cluster",
                    "create",
                    *addresses,
                    "--cluster-replicas",
                    "1",
                    "--cluster-yes",
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=True,
            )
            self.wait_ok(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every live node reports ``cluster_state:ok``, every slot is served and every
        live replica is in sync with its master (so it could take over)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                live = [n for n in self.nodes if n.alive()]
                if all(_cluster_ok(n.cli("cluster", "info")) for n in live) and all(
                    _replica_ok(n.cli("info", "replication")) for n in live
                ):
                    return
            except (subprocess.SubprocessError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"redis cluster not ok after {timeout}s")

    def master_of(self, key: str) -> RedisClusterNode:
        """The node serving ``key``'s slot now."""
        probe = next(n for n in self.nodes if n.alive())
        slot = int(probe.cli("cluster", "keyslot", key).strip())
        for line in probe.cli("cluster", "nodes").splitlines():
            fields = line.split()
            if "master" not in fields[2] or "fail" in fields[2]:
                continue
            for span in fields[8:]:
                low, _, high = span.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
                    return next(n for n in self.nodes if n.port == port)
        raise LookupError(f"no master serves slot {slot}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _cluster_ok(info: str) -> bool:
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return (
        fields.get("cluster_state", "").strip() == "ok"
        and fields.get("cluster_slots_ok", "").strip() == "16384"
    )


def _replica_ok(info: str) -> bool:
    """A master, or a replica whose link to its master is up."""
    return "role:slave" not in info or "master_link_status:up" in info


class Murmur(Process):
    """``murmur serve`` (role ``web``, on ``port``) or ``murmur worker``. A web process of a
    cluster leaves the outbox to the workers; one with ``run_worker`` runs its own."""

    def __init__(
        self,
        role: str,
        env: dict[str, str],
        log_path: Path,
        *,
        name: str | None = None,
        port: int | None = None,
        run_worker: bool = False,
    ) -> None:
        super().__init__(name or role, log_path)
        self.role = role
        self.env = env
        self.port = (port or free_port()) if role == "web" else None
        self.run_worker = run_worker

    @classmethod
    def numbered(cls, role: str, env: dict[str, str], run_dir: Path, index: int) -> Murmur:
        """The ``index``-th process of ``role`` in a cluster, logging into ``run_dir``."""
        name = f"{role}-{index}"
        return cls(role, env, run_dir / f"{name}.log", name=name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Murmur:
        env = {**os.environ, **self.env}
        if self.role == "web":
            run_worker = "true" if self.run_worker else "false"
            env.update(PORT=str(self.port), HOST="127.0.0.1", RUN_WORKER=run_worker)
        self.spawn(
            [sys.executable, "-m", "server", "serve" if self.role == "web" else "worker"], env
        )
        if self.role == "web":
            self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s; see {self.log_path}")


def nginx_site(upstreams: list[int], listen: int, source: Path = NGINX_SITE) -> str:
    """``deploy/nginx/murmur.conf`` with these upstream ports and this listen port."""
    text = source.read_text()
    servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+(.*);$", text, flags=re.M)
    options = servers[0] if servers else ""
    lines = "".join(f"    server 127.0.0.1:{p}{options};\n" for p in upstreams)
    text, n = re.subn(r"(?:^\s*server 127\.0\.0\.1:\d+.*;\n)+", lines, text, count=1, flags=re.M)
    text, m = re.subn(r"^(\s*)listen \d+;", rf"\g<1>listen 127.0.0.1:{listen};", text, flags=re.M)
    if n != 1 or m != 1:
        raise ValueError(f"{source}: expected one upstream server list and one listen line")
    return text


class Nginx(Process):
    """Debian's nginx in the foreground, unprivileged: its pid file, logs and temporary files
    in the run directory, the shipped site file inside a minimal main configuration."""

    def __init__(self, run_dir: Path, port: int, upstreams: list[int]) -> None:
        super().__init__("nginx", run_dir / "nginx" / "error.log")
        self.dir = run_dir / "nginx"
        self.port = port
        self.upstreams = upstreams
        self.url = f"http://127.0.0.1:{port}"

    def write_config(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "murmur.conf").write_text(nginx_site(self.upstreams, self.port))
        d = self.dir
        temps = "".join(
            f"    {kind}_temp_path {d}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        main = d / "nginx.conf"
        main.write_text(
            f"daemon off;\nworker_processes 1;\nworker_rlimit_nofile 65536;\n"
            f"pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
            f"events {{\n    worker_connections 16384;\n}}\n"
            f"http {{\n    access_log off;\n{temps}    include {d}/murmur.conf;\n}}\n"
        )
        return main

    def start(self) -> Nginx:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        main = self.write_config()
        self.spawn(
            [binary, "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c", str(main)]
        )
        assert self.process is not None
        wait_port(self.port, self.process)
        return self


class Cluster:
    """Redis (unless ``redis_url``), the database (unless ``mongodb_url``), ``web`` web
    processes, ``workers`` outbox workers and nginx on ``port``; ``stop()`` ends them all.
    With ``redis_cluster``, Redis is a Redis Cluster (``RedisCluster``: 3 masters, 3 replicas,
    or the one ``redis_url`` names) and every process gets ``REDIS_CLUSTER=true``."""

    def __init__(
        self,
        run_dir: Path,
        *,
        web: int = 2,
        workers: int = 1,
        port: int | None = None,
        redis_url: str | None = None,
        mongodb_url: str | None = None,
        env: dict[str, str] | None = None,
        redis_cluster: bool = False,
    ) -> None:
        self.run_dir = run_dir
        self.port = port or free_port()
        self.redis_cluster = redis_cluster
        self.redis: Redis | RedisCluster | None = None
        if not redis_url:
            self.redis = RedisCluster(run_dir / "redis") if redis_cluster else Redis(run_dir)
        self.redis_url = redis_url or (self.redis.url if self.redis else "")
        self.db = None if mongodb_url else EmbeddedMongo(run_dir / "db")
        self.mongodb_url = mongodb_url
        self.extra_env = env or {}
        self.web: list[Murmur] = []
        self.workers: list[Murmur] = []
        self.counts = (web, workers)
        self.nginx: Nginx | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """What every Murmur process of this cluster shares."""
        from .settings import Settings

        data_dir = self.run_dir / "data"
        # One secret for all (each would otherwise generate its own), kept in the data dir.
        secret = Settings(data_dir=data_dir).resolved_jwt_secret()
        return {
            "MONGODB_URL": self.mongodb_url or "",
            "REDIS_URL": self.redis_url,
            "DATA_DIR": str(data_dir),
            "JWT_SECRET": secret,
            "PUBLIC_BASE_URL": self.url,
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            **({"REDIS_CLUSTER": "true"} if self.redis_cluster else {}),
            **self.extra_env,
        }

    def start(self) -> Cluster:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self.redis:
                self.redis.start()
            if self.db:
                self.mongodb_url = self.db.start()
            env = self.env()
            web, workers = self.counts
            self.web = [Murmur.numbered("web", env, self.run_dir, i) for i in range(web)]
            self.workers = [Murmur.numbered("worker", env, self.run_dir, i) for i in range(workers)]
            for proc in [*self.web, *self.workers]:
                proc.start()
            self.nginx = Nginx(self.run_dir, self.port, [p.port or 0 for p in self.web]).start()
        except BaseException:
            self.stop()
            raise
        return self

    def replace(self, proc: Murmur, sig: int = signal.SIGTERM) -> Murmur:
        """Stop ``proc`` with ``sig`` and start a new one in its place (same port)."""
        proc.stop(sig)
        return proc.start()

    def stop(self) -> None:
        """Stop everything started here, nginx first, the database and Redis last."""
        for proc in [self.nginx, *self.web, *self.workers]:
            if proc is not None:
                proc.stop()
        if self.db:
            self.db.stop()
        if self.redis:
            self.redis.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__)
    parser.add_argument("--web", type=int, default=2, help="web processes (murmur serve)")
    parser.add_argument("--workers", type=int, default=1, help="outbox workers (murmur worker)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port")
    parser.add_argument(
        "--run-dir", type=Path, help="logs, data, nginx files (default: a temp dir)"
    )
    parser.add_argument(
        "--redis-cluster",
        action="store_true",
        help="run on a Redis Cluster: 6 local nodes (3 masters with a replica each) unless "
        "REDIS_URL names a node of one; sets REDIS_CLUSTER=true",
    )
    args = parser.parse_args(argv)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="murmur-cluster-"))
    cluster = Cluster(
        run_dir.resolve(),
        web=args.web,
        workers=args.workers,
        port=args.port,
        redis_url=os.environ.get("REDIS_URL"),
        mongodb_url=os.environ.get("MONGODB_URL"),
        redis_cluster=args.redis_cluster,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cluster.start()
    try:
        for proc in [*cluster.web, *cluster.workers]:
            print(f"{proc.name:<10} pid {proc.pid:<8} {proc.url if proc.port else ''}")
        print(f"nginx      pid {cluster.nginx.pid if cluster.nginx else '':<8} {cluster.url}")
        if isinstance(cluster.redis, RedisCluster):
            pids = ", ".join(str(n.pid) for n in cluster.redis.nodes)
            print(f"redis cluster pids {pids} (REDIS_URL {cluster.redis_url})")
        print(f"logs in {run_dir}; Ctrl-C stops everything")
        while not stop.wait(1.0):
            dead = [p.name for p in [*cluster.web, *cluster.workers] if not p.alive()]
            if dead or (cluster.nginx and not cluster.nginx.alive()):
                print(f"exited: {', '.join(dead) or 'nginx'}; stopping", file=sys.stderr)
                return 1
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
