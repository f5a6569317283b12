"""The outbox worker as a child process of ``murmur serve`` (``WORKER_PROCESS``).

In the web process the worker shares one event loop and one core with every request: under
a burst of posts it gets a turn only between requests, falls behind, and drains afterwards.
As its own process (``murmur worker``, what the Procfile's ``worker:`` line runs) it has a
core and a loop of its own. ``murmur serve`` starts it when Redis is configured (without
Redis its live events could not reach the web process's sockets, so it stays in-process),
starts it again if it dies, and stops it on shutdown. The child is killed with its parent
(``PR_SET_PDEATHSIG``), so a ``kill -9`` of ``murmur serve`` leaves no worker behind; the
worker's lease (``server/outbox.py``) lets another process take over from a dead one.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from .settings import Settings

log = logging.getLogger("murmur.worker")

PR_SET_PDEATHSIG = 1
RESTART_BACKOFF = (1.0, 30.0)  # first and longest pause before starting a dead worker again


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the parent dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class WorkerProcess:
    """Runs ``murmur worker`` with this process's settings, and keeps it running."""

    def __init__(self, settings: Settings) -> None:
        assert settings.mongodb_url, "the worker needs the database's URL"
        self.env = {
            **os.environ,
            "MONGODB_URL": settings.mongodb_url,
            "RUN_WORKER": "true",
            # Generated once and kept in the data dir: read (or made) here, before the child
            # could race this process to create it.
            "JWT_SECRET": settings.resolved_jwt_secret(),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a restart and a stop do not cross
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name="murmur-worker-watch", daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "worker"],
            env=self.env,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads run in the child yet)
        )
        log.info("outbox worker process %d started", self.process.pid)

    def _watch(self) -> None:
        """Start the worker again whenever it exits while this process still runs."""
        pause = RESTART_BACKOFF[0]
        while not self._stopping.is_set():
            assert self.process is not None
            started = time.monotonic()
            code = self.process.wait()
            if time.monotonic() - started > 60:
                pause = RESTART_BACKOFF[0]  # it ran a good while: not a crash loop
            if self._stopping.is_set():
                return
            log.error("outbox worker process exited with %s; starting it in %.0f s", code, pause)
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, RESTART_BACKOFF[1])
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn()

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the worker finishes its batch and gives its lease back), then SIGKILL."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)
