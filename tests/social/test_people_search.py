"""GET /users/search (people by name prefix) and GET /users/suggestions (whom to follow)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bson import ObjectId

from server import people
from server.models import UserMetadata
from server.services import Services
from server.store import prefixed
from server.store import users as user_store


async def quick_user(
    svc: Services, name: str, display: str | None = None, followers: int = 0, **extra: Any
) -> str:
    """A confirmed user stored directly (no sign-up round trips), with a follower count."""
    user = await user_store.create(
        svc.db,
        user_name=name,
        email=f"{name.lower()}@example.com",
        password_hash=None,
        metadata=UserMetadata(display_name=display),
        now=svc.clock(),
        email_verified=True,
    )
    update = {"follower_count": followers, **extra}
    await svc.db.users.update_one({"_id": ObjectId(user.id)}, {"$set": update})
    return user.id


async def names(client: httpx.AsyncClient, q: str, headers: Any = None, **params: Any) -> list[str]:
    r = await client.get("/users/search", params={"q": q, **params}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return [u["user_name"] for u in r.json()["items"]]


async def test_prefixes_of_names_and_display_words_folded(
    client: httpx.AsyncClient, svc: Services
) -> None:
    await quick_user(svc, "jgarcia", "José García Núñez")
    await quick_user(svc, "Joanna", None)
    await quick_user(svc, "abcdefghijklmnop")
    await quick_user(svc, "abcdefghijklzzz")
    assert await names(client, "jose") == ["jgarcia"]  # accents folded
    assert await names(client, "JOSÉ") == ["jgarcia"]
    assert await names(client, "@garc") == ["jgarcia"]  # a display-name word; '@' ignored
    assert await names(client, "jose nun") == ["jgarcia"]  # every word must start a word
    assert await names(client, "jose zed") == []
    assert await names(client, "osé") == []  # a prefix, not a substring
    assert sorted(await names(client, "JO")) == ["Joanna", "jgarcia"]
    assert await names(client, "joanna") == ["Joanna"]  # the user name's case folded
    # Longer than the stored prefixes: looked up by the first 12 characters, checked in full.
    assert await names(client, "abcdefghijklm") == ["abcdefghijklmnop"]
    assert sorted(await names(client, "abcdefghijkl")) == ["abcdefghijklmnop", "abcdefghijklzzz"]
    assert await names(client, "!!!") == []  # no word at all: nothing, not an error


async def test_profile_change_is_searchable_and_old_users_are_backfilled(
    client: httpx.AsyncClient, svc: Services, make_user: Any
) -> None:
    alice = await make_user("alice_p")
    r = await client.patch("/users/me", json={"display_name": "Zoë Quill"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert await names(client, "zoe") == ["alice_p"]
    assert await names(client, "quil") == ["alice_p"]
    r = await client.patch("/users/me", json={"display_name": None}, headers=alice.headers)
    assert await names(client, "zoe") == []
    assert await names(client, "ali") == ["alice_p"]
    r = await client.patch("/users/me", json={"bio": "hi"}, headers=alice.headers)
    assert await names(client, "ali") == ["alice_p"]  # other fields leave the keys alone
    # A user stored before people search existed gets its prefixes on the next start.
    await quick_user(svc, "oldtimer", "Ancient Mariner")
    await svc.db.users.update_many({}, {"$unset": {prefixed.FIELD: ""}})
    assert await names(client, "mariner") == []
    # (The worker's first round found nothing to give prefixes to and left its marker.)
    assert await svc.db.migrations.find_one({"_id": "users.search_prefixes"}) is not None
    assert await user_store.backfill_search_prefixes(svc.db) is True  # done once already
    await svc.db.migrations.delete_many({})
    assert await user_store.backfill_search_prefixes(svc.db, limit=1) is False  # one of two
    assert await names(client, "mariner") + await names(client, "ali") in (
        ["oldtimer"],
        ["alice_p"],
    )
    assert await user_store.backfill_search_prefixes(svc.db, limit=1) is False  # the other
    assert await user_store.backfill_search_prefixes(svc.db, limit=1) is True  # none left
    assert await names(client, "mariner") == ["oldtimer"]
    assert await names(client, "ali") == ["alice_p"]


async def test_ranking_followed_first_then_by_followers(
    client: httpx.AsyncClient, svc: Services, make_user: Any
) -> None:
    # One-letter prefix: read band by band (>= 100, 10-99, 1-9, 0); the order must be exact.
    counts = [0, 1, 5, 9, 10, 55, 99, 100, 150, 3, 0, 12, 1000, 7, 100, 2, 0, 42, 11, 8, 500]
    for i, n in enumerate(counts):
        await quick_user(svc, f"kay{i:02d}", followers=n)
    expected = sorted(range(len(counts)), key=lambda i: (-counts[i], i))
    assert await names(client, "k", limit=20) == [f"kay{i:02d}" for i in expected[:20]]
    assert await names(client, "k", limit=3) == [f"kay{i:02d}" for i in expected[:3]]
    assert await names(client, "ka") == [f"kay{i:02d}" for i in expected[:10]]  # default 10
    assert await names(client, "kay", limit=20) == [f"kay{i:02d}" for i in expected[:20]]
    # Followed people come first (most followed first), whatever their follower counts.
    me = await make_user("zz_reader")
    for i in (0, 2, 16):  # counts 0, 5, 0
        r = await client.post(f"/users/{await _id(svc, f'kay{i:02d}')}/follow", headers=me.headers)
        assert r.status_code == 200, r.text
    got = await names(client, "k", me.headers, limit=5)
    assert got[:3] == ["kay02", "kay00", "kay16"]  # kay02 now has 6 followers, the others 1
    assert got[3:] == [f"kay{i:02d}" for i in expected[:2]]
    assert await names(client, "kay1", me.headers, limit=2) == ["kay16", "kay12"]


async def _id(svc: Services, name: str) -> str:
    user = await user_store.by_name(svc.db, user_name=name)
    assert user is not None
    return user.id


async def test_blocked_suspended_deleted_and_unconfirmed_left_out(
    client: httpx.AsyncClient, svc: Services, make_user: Any
) -> None:
    me = await make_user("mo_me")
    blocked = await make_user("mo_blocked")
    blocker = await make_user("mo_blocker")
    await make_user("mo_fine")
    await quick_user(svc, "mo_suspended", suspended=True)
    await quick_user(svc, "mo_deleted", deleted=True)
    await quick_user(svc, "mo_unconfirmed", email_verified=False)
    r = await client.post(f"/users/{blocked.id}/block", headers=me.headers)
    assert r.status_code == 200
    r = await client.post(f"/users/{me.id}/block", headers=blocker.headers)
    assert r.status_code == 200
    assert await names(client, "mo", me.headers) == ["mo_fine"]  # not the caller either
    anonymous = sorted(await names(client, "mo"))
    assert anonymous == ["mo_blocked", "mo_blocker", "mo_fine", "mo_me"]
    # A followed user who is then suspended is left out too.
    fine = await _id(svc, "mo_fine")
    await client.post(f"/users/{fine}/follow", headers=me.headers)
    await user_store.set_suspended(svc.db, user_id=fine, suspended=True)
    assert await names(client, "mo", me.headers) == []


async def test_bad_input_is_a_json_422(client: httpx.AsyncClient) -> None:
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "x" * 51}, {"q": "a", "limit": "0"},
                   {"q": "a", "limit": "21"}, {"q": "a", "limit": "many"}):  # fmt: skip
        r = await client.get("/users/search", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["code"], params
    r = await client.get("/users/search", params={"q": "x" * 50, "limit": "20"})
    assert r.status_code == 200 and r.json()["items"] == []
    r = await client.get("/users/suggestions")
    assert r.status_code == 401


async def test_suggestions_rank_friends_of_friends(
    client: httpx.AsyncClient, svc: Services, make_user: Any
) -> None:
    me, a, b, x, y, z, w, muted = [
        await make_user(f"sg_{n}") for n in ("me", "a", "b", "x", "y", "z", "w", "muted")
    ]

    async def follow(who: Any, *targets: Any) -> None:
        for t in targets:
            r = await client.post(f"/users/{t.id}/follow", headers=who.headers)
            assert r.status_code == 200, r.text

    r = await client.get("/users/suggestions", headers=me.headers)
    assert r.status_code == 200 and r.json()["items"] == []  # follows nobody yet
    await follow(me, a, b)
    await follow(a, x, y, me, b, w, muted)
    await follow(b, x, z, w, muted)
    await client.post(f"/users/{z.id}/block", headers=me.headers)
    await client.post(f"/users/{muted.id}/mute", headers=me.headers)
    await user_store.set_suspended(svc.db, user_id=w.id, suspended=True)
    r = await client.get("/users/suggestions", headers=me.headers)
    assert r.status_code == 200, r.text
    got = [(s["user_name"], s["followed_by"]) for s in r.json()["items"]]
    assert got == [("sg_x", 2), ("sg_y", 1)]
    r = await client.get("/users/suggestions", params={"limit": 1}, headers=me.headers)
    assert [s["user_name"] for s in r.json()["items"]] == ["sg_x"]
    r = await client.get("/users/suggestions", params={"limit": 21}, headers=me.headers)
    assert r.status_code == 422


async def test_suggestions_read_a_bounded_number_of_follow_edges(
    client: httpx.AsyncClient, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    me, a, x, y, z = [await make_user(f"sb_{n}") for n in ("me", "a", "x", "y", "z")]
    for who, target in ((me, a), (a, x), (a, y), (a, z)):
        r = await client.post(f"/users/{target.id}/follow", headers=who.headers)
        assert r.status_code == 200, r.text
    # A followee who follows more than the edge budget: only that many edges are counted.
    monkeypatch.setattr(people, "SUGGESTION_EDGES", 2, raising=False)
    r = await client.get("/users/suggestions", headers=me.headers)
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 2
