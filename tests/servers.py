"""Real server processes for tests: redis-server and Murmur app processes on free ports,
started and stopped by ``server/cluster.py``'s helpers (the ones the cluster uses)."""

from __future__ import annotations

from pathlib import Path

from server.cluster import Murmur, Redis


class RedisServer(Redis):
    """A throwaway redis-server (no persistence) that tests may kill and restart on its port."""


class AppProcess(Murmur):
    """One Murmur app process (`murmur serve`, running its own outbox worker) on a free port,
    configured by environment (``server.cluster.Murmur``, as the cluster starts them)."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        super().__init__("web", env, log_path, name="app", port=port, run_worker=True)

    def start(self, timeout: float = 30) -> AppProcess:
        super().start(timeout)
        return self


def live_env(
    mongo_url: str, db_name: str, data_dir: Path, redis_url: str | None = None
) -> dict[str, str]:
    """The environment of a test app process: fast hashing, a fixed secret, its own database."""
    env = {
        "ENVIRONMENT": "test",
        "MONGODB_URL": mongo_url,
        "MONGODB_DB": db_name,
        "DATA_DIR": str(data_dir),
        "MAIL_OUTBOX_DIR": str(data_dir / "outbox"),
        "JWT_SECRET": "live-test-secret-" + "y" * 32,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "64",
        "LOG_LEVEL": "WARNING",
        # The worker in the app process, as the tests were written for (one process per app
        # on a loaded 2-core machine); tests of the default's child process ask for it.
        "WORKER_PROCESS": "false",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env
