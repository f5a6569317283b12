"""Which MongoDB member may answer each kind of read (``docs/deploy.md``, "Read preference").

A replica set's secondaries can take read load off the primary, at the price of answers up
to a replication lag old. Only reads that tolerate that may go there, and only when the
operator opts in (``MONGODB_SECONDARY_READS``); the lag is bounded by
``MONGODB_MAX_STALENESS_SECONDS`` (a secondary further behind is not chosen, MongoDB's own
``maxStalenessSeconds``). Everything else always reads the primary, because a stale answer
there is wrong, not merely late:

- reads right after one's own write (a write's response, one's own tweets page, a tweet
  by id: the ids a timeline lists are turned into tweets on the primary too, or a tweet a
  lagging secondary has not seen yet would silently drop out of the page);
- sign-in, sessions and token checks (a revoked session must stay revoked), rate limits,
  idempotency keys, one-time codes;
- the outbox worker and every counter (they read to write: a stale read loses updates).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from pymongo.read_preferences import SecondaryPreferred

from .db import Database

# timeline: the pulled parts of home timelines (big authors' and big reposters' newest
#   ids), GET /tweets, hashtag pages;
# search: tweet search (GET /search) and people search;
# trending: trending tags and users, tag completion;
# profile: other people's tweet pages (your own reads the primary), people suggestions.
ReadKind = Literal["timeline", "search", "trending", "profile"]
READ_KINDS: tuple[ReadKind, ...] = get_args(ReadKind)


def readers(
    db: Database, secondary: Iterable[ReadKind], max_staleness_seconds: int
) -> dict[ReadKind, Database]:
    """A database handle per kind of read: ``secondaryPreferred`` (at most
    ``max_staleness_seconds`` behind) for the kinds in ``secondary``, the primary for the
    rest. Built once at start-up (``Services.reader`` hands them out)."""
    chosen = frozenset(secondary)
    preference = SecondaryPreferred(max_staleness=max_staleness_seconds)
    return {
        kind: db.with_options(read_preference=preference) if kind in chosen else db
        for kind in READ_KINDS
    }
