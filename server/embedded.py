"""The embedded database: a secantusd-py subprocess for development when MONGODB_URL is unset."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

log = logging.getLogger("murmur.embedded")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def secantusd_command() -> str:
    """The ``secantusd-py`` beside this Python, else the one on PATH."""
    here = Path(sys.executable).parent / "secantusd-py"
    return str(here) if here.exists() else (shutil.which("secantusd-py") or "secantusd-py")


class EmbeddedMongo:
    """Starts secantusd-py on a free loopback port; ``storage`` may be ':memory:'."""

    def __init__(self, storage: str | Path, port: int | None = None) -> None:
        self.storage = str(storage)
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Retryable writes off: this is one local process, with no failover for a retry to
        ride out, and secantusd-py keeps every retryable write's reply for 30 minutes (up to
        10,000) and walks them all on each write. Measured with 32 clients inserting, 4 s
        each, back to back on one server: ~950, then 630, then 530 inserts/s with them (its
        table filling up), ~1,550/s without. A write that fails is not lost: a request
        answers an error and its client retries (``Idempotency-Key``); the outbox worker
        runs its batch again. A ``MONGODB_URL`` of your own keeps the driver's default."""
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    def start(self, timeout: float = 30.0) -> str:
        """Start the server and wait until it answers; returns its URL."""
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        cmd = [secantusd_command(), "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--storage-path", self.storage, "--log-level", "WARNING"]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"secantusd-py exited with {self.process.returncode}")
            try:
                client: MongoClient[dict] = MongoClient(self.url, serverSelectionTimeoutMS=300)
                with client:
                    client.admin.command("ping")
                log.info("embedded database on %s (storage %s)", self.url, self.storage)
                return self.url
            except PyMongoError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("secantusd-py did not become ready in time")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after a grace period)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
