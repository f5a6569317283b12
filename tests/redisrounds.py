"""Counting an app's Redis round trips in tests: each command or pipeline its read caches and
stored timelines send (``Services.cache_redis``, ``Services.timelines.redis``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def read_clients(svc: Any) -> list[Any]:
    """The Redis clients a read goes through: the read caches' and the stored timelines'."""
    return [c for c in (svc.cache_redis, getattr(svc.timelines, "redis", None)) if c is not None]


@contextlib.contextmanager
def round_trips(*clients: Any) -> Iterator[list[str]]:
    """Within the block, one entry per round trip ``clients`` make (a command's name, or
    "pipeline"); they are the clients' own instances, so other clients are not counted."""
    sent: list[str] = []
    for client in clients:
        command, pipeline = client.execute_command, client.pipeline

        async def counted(*args: Any, _command: Any = command, **kwargs: Any) -> Any:
            sent.append(str(args[0]))
            return await _command(*args, **kwargs)

        def counted_pipeline(*args: Any, _pipeline: Any = pipeline, **kwargs: Any) -> Any:
            pipe = _pipeline(*args, **kwargs)
            execute = pipe.execute

            async def run(*a: Any, **kw: Any) -> Any:
                sent.append("pipeline")
                return await execute(*a, **kw)

            pipe.execute = run
            return pipe

        client.execute_command, client.pipeline = counted, counted_pipeline
    try:
        yield sent
    finally:
        for client in clients:  # the class's methods again
            del client.execute_command, client.pipeline
