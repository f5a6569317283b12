"""Group commit: concurrent inserts into one collection go to the database together.

SecantusDB (and any MongoDB, less so) pays per command as well as per document: an
``insert_many`` of 50 documents costs 4-6 times less per document than 50 ``insert_one``.
When many requests insert at once (``POST /tweets`` under load), each waits in
``insert_one`` here: the first one is sent at once, alone (an idle server adds no latency);
those that arrive while it is on its way are sent together in the next
``insert_many(ordered=False)`` (up to ``IN_FLIGHT`` commands on their way), and so on.
Each caller gets its own outcome: a document that breaks a unique index (a retried
Idempotency-Key) fails alone, with the same ``DuplicateKeyError`` ``insert_one`` would
raise. Every caller returns only after the
database acknowledged its document, so durability is what ``insert_one`` gives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from .duplicates import DUPLICATE_KEY

# Documents per insert_many: bounds one command's size and the wait of the last in a batch.
MAX_BATCH = 64
# Commands on their way at once per collection. Few enough that requests arriving together
# share one; enough that a round trip's fixed wait is not paid by each batch in turn.
# SecantusDB charges ~1.4 ms a command on top of ~0.6 ms a tweet, so fewer, fuller commands
# leave more of it to the outbox worker. Measured with bench/rest.py --phases post (32
# clients): while the worker's counters and $in look-ups were slow, 8 beat 2 (201-204
# posts/s against 128-138, loaded machine); once they were fixed, on a quiet machine (load
# 1.3-1.8), 8 gave 346 posts/s at 3.7 ms of database CPU a post, 4 gave 390-409 (3.5 ms),
# 2 gave 458 (3.0 ms), 1 gave 473 (2.9 ms). 2, so one slow command does not stall them all.
IN_FLIGHT = 2


_Waiting = tuple[Any, "asyncio.Future[Any]"]
# Makes one document of a batch's items (``insert_packed``); its ``_id`` is each caller's.
Pack = Callable[[list[Any]], dict[str, Any]]


class GroupInserts:
    """Per collection, a queue of documents waiting to be inserted and at most
    ``in_flight`` commands on their way. One per process (``Services.inserts``)."""

    def __init__(self, max_batch: int = MAX_BATCH, in_flight: int = IN_FLIGHT) -> None:
        self.max_batch = max_batch
        self.in_flight = in_flight
        self._queues: dict[str, list[_Waiting]] = {}
        self._senders: dict[str, set[asyncio.Task[None]]] = {}
        self.batches = 0  # insert_many/insert_one commands sent (tests and benchmarks)

    async def insert_one(self, collection: AsyncCollection[dict], doc: dict[str, Any]) -> None:
        """Insert ``doc`` with whatever else is waiting for ``collection``; returns once the
        database acknowledged it, or raises what inserting it alone would have raised."""
        await self._queued(collection, doc, None)

    async def insert_packed(self, collection: AsyncCollection[dict], item: Any, pack: Pack) -> Any:
        """Queue ``item``; each batch of items is stored as the one document ``pack`` makes of
        them (a batch of new tweets' outbox entries is one entry: ``store/intents.py``).
        Returns that document's ``_id`` once it is acknowledged."""
        return await self._queued(collection, item, pack)

    async def _queued(self, collection: AsyncCollection[dict], item: Any, pack: Pack | None) -> Any:
        name = collection.full_name if pack is None else f"{collection.full_name}#packed"
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(name, []).append((item, done))
        senders = self._senders.setdefault(name, set())
        if len(senders) < self.in_flight:
            # A task of its own, not the first caller: a caller cancelled (its client gone)
            # must not strand the documents of the others.
            send = self._send(name, collection, pack)
            senders.add(asyncio.create_task(send, name="group-insert"))
        # shield: a cancelled caller stops waiting; its document is still sent (as an
        # insert_one cancelled mid-flight may still land).
        return await asyncio.shield(done)

    async def _send(self, name: str, collection: AsyncCollection[dict], pack: Pack | None) -> None:
        queue = self._queues[name]
        try:
            while queue:
                batch, queue[:] = queue[: self.max_batch], queue[self.max_batch :]
                self.batches += 1
                if pack is None:
                    await _insert(collection, batch)
                else:
                    await _insert_packed(collection, batch, pack)
        finally:
            task = asyncio.current_task()
            assert task is not None
            self._senders[name].discard(task)


async def _insert_packed(
    collection: AsyncCollection[dict], batch: list[_Waiting], pack: Pack
) -> None:
    """One document for the batch: every caller gets its ``_id``, or the same error."""
    failed: dict[int, Exception] = {}
    doc: dict[str, Any] = {}
    try:
        doc = pack([item for item, _ in batch])
        await collection.insert_one(doc)
    except Exception as exc:  # the database away, or the document refused
        failed = dict.fromkeys(range(len(batch)), exc)
    except BaseException as exc:  # the sender cancelled (shutdown): nobody waits forever
        failed = dict.fromkeys(range(len(batch)), RuntimeError(f"insert cut short: {exc!r}"))
        raise
    finally:
        _answer(batch, failed, doc.get("_id"))


async def _insert(collection: AsyncCollection[dict], batch: list[_Waiting]) -> None:
    """One command for the batch; each document's own error to its own caller."""
    failed: dict[int, Exception] = {}
    try:
        if len(batch) == 1:
            await collection.insert_one(batch[0][0])
        else:
            await collection.insert_many([doc for doc, _ in batch], ordered=False)
    except DuplicateKeyError as exc:  # insert_one's
        failed[0] = exc
    except BulkWriteError as exc:
        for error in exc.details.get("writeErrors", []):
            kind = DuplicateKeyError if error.get("code") == DUPLICATE_KEY else WriteError
            failed[error["index"]] = kind(error.get("errmsg", ""), error.get("code"), error)
        if exc.details.get("writeConcernErrors"):
            failed = dict.fromkeys(range(len(batch)), exc)  # nothing is known to be durable
    except Exception as exc:  # the database away: every caller hears it
        failed = dict.fromkeys(range(len(batch)), exc)
    except BaseException as exc:  # the sender cancelled (shutdown): nobody waits forever
        failed = dict.fromkeys(range(len(batch)), RuntimeError(f"insert cut short: {exc!r}"))
        raise
    finally:
        _answer(batch, failed, None)


def _answer(batch: list[_Waiting], failed: dict[int, Exception], result: Any) -> None:
    """Each caller still waiting: its error from ``failed``, else ``result``."""
    for i, (_, done) in enumerate(batch):
        if done.done():
            continue
        if i in failed:
            done.set_exception(failed[i])
            # Retrieved here: a caller that was cancelled meanwhile never reads it.
            done.add_done_callback(lambda f: f.exception())
        else:
            done.set_result(result)
