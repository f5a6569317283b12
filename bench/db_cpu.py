"""Where the database's CPU goes, command by command: ``bench/rest.py`` against a SecantusDB
that times each command it runs.

    .venv/bin/python bench/db_cpu.py --phases post --duration 5

Starts ``secantusd-py`` (on disk, retryable writes off, as the embedded default runs it) in
a process that wraps its command dispatcher: every command's CPU time (the serving thread's
``thread_time``, so waiting for the GIL or the disk is not counted) is summed by command and
collection, with the documents it carried. Then runs ``bench/rest.py`` with ``--mongodb-url``
pointing at it and the other arguments given here; each phase's figures (from its start
until ``bench/rest.py`` reports it, so the outbox worker's drain is included) are printed
per request, heaviest first. ``--top N`` rows per phase. The timing costs the database a
little, so ``bench/rest.py``'s own table (printed too) is not appended to its results file
unless ``--out`` is given.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def serve(port: str, storage: str, out: str) -> int:
    """The timed database; SIGUSR1 writes what it counted since the last one to ``out``."""
    import secantus.server as server
    from secantus.cli import main

    counted: defaultdict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0])
    lock = threading.Lock()
    dispatch = server.dispatch

    def timed(doc: dict[str, Any], ctx: Any) -> Any:
        start = time.thread_time_ns()
        try:
            return dispatch(doc, ctx)
        finally:
            spent = (time.thread_time_ns() - start) / 1e6
            name = next(iter(doc), "?")
            target = doc.get(name)
            docs = sum(len(doc.get(k, ())) for k in ("documents", "updates", "deletes"))
            with lock:
                row = counted[f"{name} {target if isinstance(target, str) else ''}".strip()]
                row[0], row[1], row[2] = row[0] + 1, row[1] + spent, row[2] + docs

    def dump(*_: Any) -> None:
        with lock:
            rows = dict(counted)
            counted.clear()
        part = Path(f"{out}.part")
        part.write_text(json.dumps(rows))
        os.replace(part, out)  # whole, or not there

    server.dispatch = timed
    signal.signal(signal.SIGUSR1, dump)
    return main(["--host", "127.0.0.1", "--port", port, "--storage-path", storage,
                 "--log-level", "WARNING"])  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the timed database did not start")


def _collect(db: subprocess.Popen[bytes], out: Path) -> dict[str, list[float]]:
    out.unlink(missing_ok=True)
    db.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return json.loads(out.read_text())


def _print(phase: str, requests: int, rows: dict[str, list[float]], top: int) -> None:
    total = sum(r[1] for r in rows.values()) / max(requests, 1)
    print(f"\n{phase}: {requests} requests, database CPU {total:.3f} ms a request")
    print("| command collection | commands | documents | CPU ms / request | CPU ms / command |")
    print("|---|---|---|---|---|")
    for name, (n, ms, docs) in sorted(rows.items(), key=lambda kv: -kv[1][1])[:top]:
        per = ms / max(requests, 1)
        print(f"| `{name}` | {int(n)} | {int(docs)} | {per:.3f} | {ms / max(n, 1):.2f} |")


def main(argv: list[str]) -> int:
    top = 15
    if "--top" in argv:
        i = argv.index("--top")
        if i + 1 >= len(argv) or not argv[i + 1].isdigit():
            sys.exit("--top takes a number of rows")
        top = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    work = Path(tempfile.mkdtemp(prefix="murmur-db-cpu-"))
    port, out = _free_port(), work / "cpu.json"
    cmd = [sys.executable, __file__, "serve", str(port), str(work / "db"), str(out)]
    db = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    bench: subprocess.Popen[str] | None = None
    try:
        _wait_ready(port, time.monotonic() + 30)
        url = f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
        if "--out" not in argv:  # not among bench/rest.py's own runs: this database is slower
            argv = [*argv, "--out", str(work / "rest.json")]
        rest = [sys.executable, str(ROOT / "bench" / "rest.py"), "--mongodb-url", url, *argv]
        bench = subprocess.Popen(rest, stderr=subprocess.PIPE, text=True)
        assert bench.stderr is not None
        for line in bench.stderr:
            sys.stderr.write(line)
            if line.startswith("phase ") and line.rstrip().endswith(": starting"):
                _collect(db, out)  # what came before the phase is not its
            elif line.startswith('{"phase"'):
                result = json.loads(line)
                _print(result["phase"], result["requests"], _collect(db, out), top)
        return bench.wait()
    finally:
        if bench is not None and bench.poll() is None:
            bench.terminate()
            bench.wait(timeout=60)
        db.terminate()
        db.wait(timeout=30)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        sys.exit(serve(*sys.argv[2:5]))
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))
