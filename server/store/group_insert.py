"""Group commit: concurrent inserts into one collection go to the database together.

SecantusDB (and any MongoDB, less so) pays per command as well as per document: an
``insert_many`` of 50 documents costs 4-6 times less per document than 50 ``insert_one``.
When many requests insert at once (``POST /tweets`` under load), each waits in
``insert_one`` here: the first one is sent at once, alone (an idle server adds no latency);
those that arrive while it is on its way are sent together in the next
``insert_many(ordered=False)`` (up to ``IN_FLIGHT`` commands on their way), and so on
(the queues: ``server/batching.py``).
Each caller gets its own outcome: a document that breaks a unique index (a retried
Idempotency-Key) fails alone, with the same ``DuplicateKeyError`` ``insert_one`` would
raise. Every caller returns only after the
database acknowledged its document, so durability is what ``insert_one`` gives.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from ..batching import Batches, Waiting, answer
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


# Makes one document of a batch's items (``insert_packed``); its ``_id`` is each caller's.
Pack = Callable[[list[Any]], dict[str, Any]]


class GroupInserts:
    """Per collection, a queue of documents waiting to be inserted and at most
    ``in_flight`` commands on their way. One per process (``Services.inserts``)."""

    def __init__(self, max_batch: int = MAX_BATCH, in_flight: int = IN_FLIGHT) -> None:
        self._batches = Batches(max_batch, in_flight)

    @property
    def batches(self) -> int:
        """insert_many/insert_one commands sent (tests and benchmarks)."""
        return self._batches.sent

    async def insert_one(self, collection: AsyncCollection[dict], doc: dict[str, Any]) -> None:
        """Insert ``doc`` with whatever else is waiting for ``collection``; returns once the
        database acknowledged it, or raises what inserting it alone would have raised."""
        await self._batches.submit(collection.full_name, doc, partial(_insert, collection))

    async def insert_packed(self, collection: AsyncCollection[dict], item: Any, pack: Pack) -> Any:
        """Queue ``item``; each batch of items is stored as the one document ``pack`` makes of
        them (a batch of new tweets' outbox entries is one entry: ``store/intents.py``).
        Returns that document's ``_id`` once it is acknowledged."""
        send = partial(_insert_packed, collection, pack)
        return await self._batches.submit(f"{collection.full_name}#packed", item, send)


async def _insert_packed(
    collection: AsyncCollection[dict], pack: Pack, batch: list[Waiting]
) -> None:
    """One document for the batch: every caller gets its ``_id`` (or, from ``Batches``,
    the same error)."""
    doc = pack([item for item, _ in batch])
    await collection.insert_one(doc)
    answer(batch, {}, doc["_id"])


async def _insert(collection: AsyncCollection[dict], batch: list[Waiting]) -> None:
    """One command for the batch; each document's own error to its own caller (the database
    away: every caller hears it, from ``Batches``)."""
    failed: dict[int, BaseException] = {}
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
            raise  # nothing is known to be durable
    answer(batch, failed, None)
