"""Image benchmark: ``POST /media`` uploads per second, then serving the stored images.

    .venv/bin/python bench/media.py                     # 4 uploaders, 8 readers, 10 s phases
    .venv/bin/python bench/media.py --duration 5 --side 2400

Starts its own in-memory SecantusDB and one ``murmur serve`` on free loopback ports (no
Redis, rate limits off, a quota no run reaches), makes the users directly in the database,
then runs three closed-loop phases of ``--duration`` seconds each:

- ``upload``: ``--uploaders`` clients each post a ``--side`` × ¾``--side`` JPEG photo (a
  gradient with noise, so it compresses like a photo) as multipart/form-data, the next as
  soon as the last is answered; the server decodes, shrinks to 2048 px, makes the 400 px
  preview, re-encodes both and stores them in GridFS;
- ``original`` and ``preview``: ``--readers`` clients fetch the uploaded images' originals
  (and then previews) in turn, the whole body each time (streamed from GridFS).

Each phase reports requests/s, p50/p99 latency, errors and MB/s. Writes JSON to ``--out``
and prints a Markdown table. Everything runs on loopback and stops after the run (≤ 60 s
with the defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.httpclient import HttpError, RawHttp  # noqa: E402
from bench.stack import SECRET, make_users, pct, proc_stats, start_app  # noqa: E402
from server.embedded import EmbeddedMongo, free_port  # noqa: E402

DB_NAME = "bench_media"


def photo(side: int, seed: int = 7) -> bytes:
    """A JPEG that compresses like a photo: a colour gradient with noise on it."""
    width, height = side, side * 3 // 4
    gradient = Image.linear_gradient("L").resize((width, height))
    rnd = random.Random(seed)
    noise = Image.frombytes("L", (width, height), rnd.randbytes(width * height))
    image = Image.merge("RGB", (gradient, noise.point(lambda v: v // 3 + 80), gradient.rotate(90)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


async def closed_loop(clients: int, duration: float, one: Any) -> tuple[list[float], int, int, int]:
    """Run ``one(i)`` in ``clients`` loops for ``duration`` s: (latencies, ok, errors, bytes)."""
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0, "bytes": 0}
    deadline = time.monotonic() + duration

    async def loop(i: int) -> None:
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                status, size = await one(i)
            except (httpx.HTTPError, HttpError, OSError):
                status, size = 0, 0
            latencies.append(time.monotonic() - t0)
            if 200 <= status < 300:
                counts["ok"] += 1
                counts["bytes"] += size
            else:
                counts["errors"] += 1

    await asyncio.gather(*(loop(i) for i in range(clients)))
    return sorted(latencies), counts["ok"], counts["errors"], counts["bytes"]


def cpu(*pids: int) -> list[float]:
    """CPU seconds used so far by each process."""
    return [proc_stats(pid)[1] for pid in pids]


def cpu_since(before: list[float], app_pid: int, db_pid: int) -> dict[str, float]:
    app, db = cpu(app_pid, db_pid)
    return {"app_cpu_s": round(app - before[0], 1), "db_cpu_s": round(db - before[1], 1)}


def summary(name: str, duration: float, result: tuple[list[float], int, int, int]) -> dict:
    latencies, ok, errors, size = result
    return {
        "phase": name,
        "requests_per_s": round(ok / duration, 1),
        "p50_ms": round(pct(latencies, 50) * 1000, 1),
        "p99_ms": round(pct(latencies, 99) * 1000, 1),
        "errors": errors,
        "mb_per_s": round(size / duration / 1e6, 1),
    }


async def run(
    args: argparse.Namespace, base_url: str, mongo_url: str, app_pid: int, db_pid: int
) -> dict:
    users = await make_users(mongo_url, DB_NAME, max(args.uploaders, args.readers))
    data = photo(args.side)
    uploaded: list[dict[str, Any]] = []
    results = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:

        async def upload(i: int) -> tuple[int, int]:
            headers = {"Authorization": f"Bearer {users[i][1]}"}
            files = {"file": ("photo.jpg", data, "image/jpeg")}
            r = await http.post("/media", files=files, headers=headers)
            if r.status_code == 201:
                uploaded.append(r.json())
            return r.status_code, len(data)

        cpu0 = cpu(app_pid, db_pid)
        results.append(summary("upload", args.duration, await closed_loop(
            args.uploaders, args.duration, upload)))  # fmt: skip
        results[-1].update(cpu_since(cpu0, app_pid, db_pid))
    if not uploaded:
        raise RuntimeError("no upload succeeded; see the app log")
    port = int(base_url.rsplit(":", 1)[1])
    readers = [RawHttp("127.0.0.1", port, {}) for _ in range(args.readers)]
    for kind in ("url", "preview_url"):
        turn = iter(range(10**9))

        async def fetch(i: int, kind: str = kind, turn: Any = turn) -> tuple[int, int]:
            item = uploaded[next(turn) % len(uploaded)]
            status, body = await readers[i].request("GET", item[kind])
            return status, len(body)

        cpu0 = cpu(app_pid, db_pid)
        name = "original" if kind == "url" else "preview"
        results.append(summary(name, args.duration, await closed_loop(
            args.readers, args.duration, fetch)))  # fmt: skip
        results[-1].update(cpu_since(cpu0, app_pid, db_pid))
    for reader in readers:
        await reader.close()
    first = uploaded[0]
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "upload_bytes": len(data),
        "upload_size": f"{args.side}x{args.side * 3 // 4}",
        "stored": {"original": [first["width"], first["height"], first["size"]]},
        "uploaders": args.uploaders,
        "readers": args.readers,
        "duration_s": args.duration,
        "phases": results,
    }


def table(report: dict) -> str:
    rows = [
        "| phase | req/s | p50 ms | p99 ms | MB/s | errors | app CPU s | db CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in report["phases"]:
        rows.append(
            f"| {p['phase']} | {p['requests_per_s']} | {p['p50_ms']} | {p['p99_ms']} | "
            f"{p['mb_per_s']} | {p['errors']} | {p['app_cpu_s']} | {p['db_cpu_s']} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--uploaders", type=int, default=4)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--side", type=int, default=1600, help="uploaded photo width (px)")
    parser.add_argument("--out", type=Path, default=Path("bench/media-results.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="murmur-bench-media-"))
    mongo = EmbeddedMongo(":memory:")
    app: subprocess.Popen[bytes] | None = None
    try:
        mongo_url = mongo.start()
        env = {
            "ENVIRONMENT": "test", "MONGODB_URL": mongo_url, "MONGODB_DB": DB_NAME,
            "JWT_SECRET": SECRET, "ACCESS_TOKEN_TTL_SECONDS": "3600", "DATA_DIR": str(work),
            "LOG_LEVEL": "WARNING", "RATE_LIMITS_ENABLED": "false",
            "MEDIA_QUOTA_BYTES": str(1 << 40),
        }  # fmt: skip
        port = free_port()
        app = start_app(env, port, work / "app.log")
        assert mongo.process is not None
        base_url = f"http://127.0.0.1:{port}"
        report = asyncio.run(run(args, base_url, mongo_url, app.pid, mongo.process.pid))
    finally:
        if app is not None:
            app.terminate()
            app.wait(10)
        mongo.stop()
        shutil.rmtree(work, ignore_errors=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))


if __name__ == "__main__":
    main()
