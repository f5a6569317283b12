"""Finding people: name search (``GET /users/search``, the composer's ``@`` autocomplete) and
whom to follow (``GET /users/suggestions``).

Search matches the start of the user name or of any display-name word, case- and
accent-folded (``José`` is found by ``jo``, ``jose`` or ``JOSÉ``). People the caller follows
come first, then everyone else by follower count; suspended, deleted and unconfirmed
accounts and anyone blocked either way are left out. The index does the ranking's heavy
part (``store/prefixed.py``); followed people come from a per-process card of each
followee's name words (``social.followee_cards``), so neither half reads more than its
answer needs.
"""

from __future__ import annotations

import random
from typing import Any

from .accounts import Caller
from .models import PublicUser, Suggestion
from .search.analyzer import words
from .services import Services
from .social import blocked_authors, followee_cards, followees, hidden_authors
from .store import follows as follow_store
from .store import prefixed
from .store import users as user_store
from .store.counters import OPS
from .store.users import UserRecord

MAX_LIMIT = 20
# Suggestions read the follows of at most this many of the caller's followees (a sample).
SUGGESTION_SAMPLE = 50
# ...and at most this many of their follow edges: 50 followees who each follow thousands
# would otherwise make one unthrottled request read hundreds of thousands of edges.
SUGGESTION_EDGES = 5_000


def listed(user: dict[str, Any]) -> bool:
    """Whether a user (document) may be offered at all: confirmed, not suspended or deleted."""
    gone = user.get("suspended") or user.get("deleted")
    return bool(user.get("email_verified")) and not gone


def _listed(user: UserRecord) -> bool:
    return listed(user.model_dump(include={"email_verified", "suspended", "deleted"}))


def _display(doc: dict[str, Any]) -> str | None:
    return (doc.get("user_metadata") or {}).get("display_name")


async def search(svc: Services, caller: Caller | None, q: str, limit: int) -> list[PublicUser]:
    """Up to ``limit`` people whose names start with the words of ``q`` (``@`` ignored)."""
    terms = words(q)
    if not terms:
        return []
    blocked = await blocked_authors(svc, caller.id) if caller else frozenset()
    followed = await _followed(svc, caller, terms, blocked, limit) if caller else []
    skip = blocked | {u.id for u in followed} | ({caller.id} if caller else set())

    def keep(doc: dict[str, Any]) -> bool:
        return (
            str(doc["_id"]) not in skip
            and listed(doc)
            and prefixed.matches(terms, doc.get("user_name"), _display(doc))
        )

    others: list[dict[str, Any]] = []
    if len(followed) < limit:
        others = await prefixed.ranked(
            svc.reader("search").users,
            prefix=max(terms, key=len)[: prefixed.MAX_PREFIX],
            rank="follower_count",
            enough=limit - len(followed),
            keep=keep,
            order=lambda d: (-d.get("follower_count", 0), d.get("user_name_lower", "")),
            # Not the large arrays: the prefixes, and the counters' remembered op ids.
            projection={prefixed.FIELD: 0, OPS: 0},
        )
    records = await user_store.records(svc.reader("search"), docs=others[: limit - len(followed)])
    return [u.public() for u in [*followed, *records]]


async def _followed(
    svc: Services, caller: Caller, terms: list[str], blocked: frozenset[str], limit: int
) -> list[UserRecord]:
    """The people ``caller`` follows whose names match, most followed first (read fresh)."""
    hits = []
    for card in await followee_cards(svc, caller.id):
        user_id, count, name_words = card.split("\t", 2)
        if user_id not in blocked and prefixed.matches(terms, name_words):
            hits.append((-int(count), name_words, user_id))
    hits.sort()
    ids = [h[2] for h in hits[:limit]]
    if svc.auth is not None:  # the per-process user cache (current counters): usually warm
        found = [u for i in ids if (u := await svc.auth.user(i)) is not None]
    else:
        found = list((await user_store.by_ids(svc.db, user_ids=ids)).values())
    fresh = [u for u in found if _listed(u)]
    return sorted(fresh, key=lambda u: (-u.follower_count, u.user_name.lower()))


async def suggestions(svc: Services, caller: Caller, limit: int) -> list[Suggestion]:
    """People followed by the people ``caller`` follows, most such follows first: not the
    caller, nobody they follow, block either way or mute. Reads the follows of at most
    ``SUGGESTION_SAMPLE`` followees (a random sample when there are more), at most
    ``SUGGESTION_EDGES`` of them."""
    mine = await followees(svc, caller.id)
    sample = sorted(mine)
    if len(sample) > SUGGESTION_SAMPLE:
        sample = random.sample(sample, SUGGESTION_SAMPLE)
    counts = await follow_store.followee_counts(
        svc.reader("profile"), followers=sample, limit=SUGGESTION_EDGES
    )
    hidden = await hidden_authors(svc, caller.id)
    candidates = sorted(
        (
            (-n, user_id)
            for user_id, n in counts.items()
            if user_id != caller.id and user_id not in mine and user_id not in hidden
        )
    )[: limit * 2]  # room for suspended or deleted ones, left out below
    found = await user_store.by_ids(svc.reader("profile"), user_ids=[u for _, u in candidates])
    out = [
        Suggestion(**found[u].public().model_dump(), followed_by=-n)
        for n, u in candidates
        if u in found and _listed(found[u])
    ]
    return out[:limit]
