"""The keyword back-end's inverted index: ``search_terms``, ``search_postings``, ``search_slots``.

A term's postings are packed into bucket documents of at most ``BUCKET_SIZE`` entries
(``{term, seq, s}``, ``s`` a string of fixed-width entries), so reading a term that occurs in
5,000 tweets touches 5 small documents instead of 5,000: the cost of a query on a server
that scans or fetches document by document is the number of documents, not their size.
Each entry is ``|`` + tweet id (24 hex) + ``created_at`` in ms (11 hex) + term count (2 hex).

``search_terms`` holds ``{_id: term, df, slots}``: ``df`` (live postings) picks the rarest term
before anything is read; ``slots`` only grows and numbers the entries, so a bucket's ``seq``
is ``slot // BUCKET_SIZE``. ``search_slots`` remembers where each tweet's entries went, so a
delete, hide or edit removes exactly those entries without scanning a term's buckets.
Every read and write is a single-equality (or ``$in``) lookup on an index.

A tweet's terms are its analyzed words, tags and mentions, not its author: ``from:`` reads
the author's tweets (``search/keyword.py``). Entries of an author term (``~<user id>``)
written by earlier versions are left where they are: no query reads them, and a tweet's
slots still remove them with it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import InsertOne, ReplaceOne, UpdateOne

from ..db import Database
from . import inlists

BUCKET_SIZE = 1000
_MAX_COUNT = 0xFF


@dataclass(frozen=True)
class Posting:
    created_at: datetime
    count: int  # how often the term occurs in the tweet


def encode(tweet_id: ObjectId, created_at: datetime, count: int) -> str:
    ms = int(created_at.timestamp() * 1000)
    return f"|{tweet_id}{ms:011x}{min(count, _MAX_COUNT):02x}"


def decode(s: str) -> dict[ObjectId, Posting]:
    out: dict[ObjectId, Posting] = {}
    for e in s.split("|")[1:]:
        if len(e) == 37:
            created = datetime.fromtimestamp(int(e[24:35], 16) / 1000, UTC)
            out[ObjectId(e[:24])] = Posting(created, int(e[35:], 16))
    return out


async def document_frequencies(db: Database, *, terms: list[str]) -> dict[str, int]:
    """How many live tweets hold each term (a term with none is left out)."""
    cursor = db.search_terms.find({"_id": {"$in": terms}}, {"df": 1})
    return {d["_id"]: d["df"] async for d in cursor if d.get("df", 0) > 0}


async def read(db: Database, *, terms: list[str]) -> dict[str, dict[ObjectId, Posting]]:
    """Every posting of each term, read bucket by bucket in one query."""
    out: dict[str, dict[ObjectId, Posting]] = {t: {} for t in terms}
    async for bucket in db.search_postings.find({"term": {"$in": terms}}, {"term": 1, "s": 1}):
        out[bucket["term"]].update(decode(bucket.get("s", "")))
    return out


@dataclass(frozen=True)
class Indexed:
    """One tweet as the index stores it."""

    tweet_id: ObjectId
    created_at: datetime
    terms: list[str]


async def add_many(db: Database, tweets: list[Indexed]) -> None:
    """Index tweets (on create, edit and restore) in five round trips (plus two when edits
    drop entries they no longer have).

    Safe to repeat: what a tweet already has is kept, only what is new is written."""
    if not tweets:
        return
    ids = [t.tweet_id for t in tweets]
    before = {d["_id"]: d for d in await inlists.find(db.search_slots, "_id", ids)}
    plans = []
    new_terms: Counter[str] = Counter()
    for t in tweets:
        old = {term: [term, seq, e] for term, seq, e in before.get(t.tweet_id, {}).get("at", [])}
        wanted = {
            term: encode(t.tweet_id, t.created_at, count)
            for term, count in Counter(t.terms).items()
        }
        kept = [old[term] for term, e in wanted.items() if term in old and old[term][2] == e]
        fresh = [term for term in wanted if term not in old or old[term][2] != wanted[term]]
        new_terms.update(fresh)
        plans.append((t, old, wanted, kept, fresh))
    next_slot = await _take_slots(db, new_terms)
    first_slot = dict(next_slot)
    added_by_tweet: dict[ObjectId, list[list[Any]]] = {}
    for t, _old, wanted, _kept, fresh in plans:
        added_by_tweet[t.tweet_id] = []
        for term in fresh:
            slot = next_slot[term]
            next_slot[term] += 1
            added_by_tweet[t.tweet_id].append([term, slot // BUCKET_SIZE, wanted[term]])
    added = [a for entries in added_by_tweet.values() for a in entries]
    # One update per bucket, with all of the batch's entries: a bucket's string is rewritten
    # by every update, and a common term's bucket is tens of kB.
    by_bucket: dict[tuple[str, int], str] = {}
    for term, seq, entry in added:
        by_bucket[term, seq] = by_bucket.get((term, seq), "") + entry
    # A bucket whose first slot is in this batch's run is new (slots only grow, and only the
    # worker takes them): inserted, not upserted, as SecantusDB charges an upsert a failed
    # lookup and a pipeline besides the insert. A rare term makes one such bucket per tweet.
    # Should it exist after all, the unique (term, seq) index fails the insert and the
    # retried batch takes later slots.
    if by_bucket:
        await db.search_postings.bulk_write(
            [
                InsertOne({"term": term, "seq": seq, "s": more})
                if seq * BUCKET_SIZE >= first_slot[term]
                else UpdateOne(
                    {"term": term, "seq": seq},
                    [{"$set": {"s": {"$concat": [{"$ifNull": ["$s", ""]}, {"$literal": more}]}}}],
                    upsert=True,
                )
                for (term, seq), more in by_bucket.items()
            ],
            ordered=False,
        )
    # New entries first, then the old ones go: an edited tweet is never missing meanwhile.
    # A tweet with no slots yet (the read above found none) gets an insert: SecantusDB pays
    # an upsert's failed lookup on top of the insert. Only the worker (under its lease)
    # writes here; a slot document that appeared meanwhile fails the insert, and the retried
    # batch reads and replaces it.
    await db.search_slots.bulk_write(
        [
            InsertOne({"_id": t.tweet_id, "at": kept + added_by_tweet[t.tweet_id]})
            if t.tweet_id not in before
            else ReplaceOne(
                {"_id": t.tweet_id},
                {"_id": t.tweet_id, "at": kept + added_by_tweet[t.tweet_id]},
                upsert=True,
            )
            for t, _old, _wanted, kept, _fresh in plans
        ],
        ordered=False,
    )
    await _remove_entries(
        db, [a for _t, old, _w, kept, _f in plans for a in old.values() if a not in kept]
    )


async def remove(db: Database, *, tweet_id: ObjectId) -> None:
    """Take a tweet out of the index (on delete and hide). Idempotent."""
    before = await db.search_slots.find_one_and_delete({"_id": tweet_id})
    if before is not None:
        await _remove_entries(db, before["at"])


async def _take_slots(db: Database, terms: Counter[str]) -> dict[str, int]:
    """Count ``terms[t]`` new entries of each term in, and return the first slot number of
    each term's new run (two round trips for any number of terms).

    Read, then counted: only the outbox worker (under its lease) indexes, so the numbers
    read are still the term's when the counts land. A term seen for the first time is
    inserted, not upserted (SecantusDB charges an upsert a failed lookup besides the
    insert); should it exist after all, the unique ``_id`` fails the batch, which is
    retried. Two workers at once (a lost lease) may number the same slots twice: a bucket
    then holds a few more than ``BUCKET_SIZE`` entries, which nothing relies on.
    """
    if not terms:
        return {}
    found = {d["_id"]: d["slots"] for d in await inlists.find(db.search_terms, "_id", list(terms))}
    await db.search_terms.bulk_write(
        [
            UpdateOne({"_id": t}, {"$inc": {"df": n, "slots": n}})
            if t in found
            else InsertOne({"_id": t, "df": n, "slots": n})
            for t, n in terms.items()
        ],
        ordered=False,
    )
    return {t: int(found.get(t, 0)) for t in terms}


async def _remove_entries(db: Database, at: list[list[Any]]) -> None:
    if not at:
        return
    await db.search_postings.bulk_write(
        [
            UpdateOne(
                {"term": term, "seq": seq},
                [
                    {
                        "$set": {
                            "s": {"$replaceAll": {"input": "$s", "find": entry, "replacement": ""}}
                        }
                    }
                ],
            )
            for term, seq, entry in at
        ],
        ordered=False,
    )
    await db.search_terms.bulk_write(
        [UpdateOne({"_id": term}, {"$inc": {"df": -1}}) for term, _seq, _entry in at],
        ordered=False,
    )


async def bulk_load(db: Database, tweets: list[dict[str, Any]]) -> None:
    """Index many tweets at once into an empty index (seeding, benchmarks, rebuilds).

    Builds exactly what ``add`` would have built for the same tweets in ``_id`` order.
    """
    by_term: dict[str, list[str]] = defaultdict(list)
    slots: list[dict[str, Any]] = []
    for doc in sorted(tweets, key=lambda d: d["_id"]):
        at = []
        for term, count in Counter(doc["terms"]).items():
            entry = encode(doc["_id"], doc["created_at"], count)
            at.append([term, len(by_term[term]) // BUCKET_SIZE, entry])
            by_term[term].append(entry)
        slots.append({"_id": doc["_id"], "at": at})
    buckets = [
        {
            "term": term,
            "seq": seq,
            "s": "".join(entries[seq * BUCKET_SIZE : (seq + 1) * BUCKET_SIZE]),
        }
        for term, entries in by_term.items()
        for seq in range((len(entries) + BUCKET_SIZE - 1) // BUCKET_SIZE)
    ]
    counts = [{"_id": t, "df": len(e), "slots": len(e)} for t, e in by_term.items()]
    for name, docs in (
        ("search_postings", buckets),
        ("search_terms", counts),
        ("search_slots", slots),
    ):
        # Small batches: a bucket can be ~40 kB, and one slow giant write invites a retry.
        for start in range(0, len(docs), 100):
            await db[name].insert_many(docs[start : start + 100], ordered=False)
