"""Blocks hide tweets on every read path; mutes only on timelines (home, public, hashtag)."""

from __future__ import annotations

from typing import Any

import httpx

READS = ("public", "tag", "profile", "search", "search_latest", "search_post")


async def seen(client: httpx.AsyncClient, reader: Any, author: Any, path: str) -> set[str]:
    """The tweet ids ``reader`` (None: signed out) gets from one list read path."""
    headers = reader.headers if reader is not None else {}
    if path == "public":
        r = await client.get("/tweets", headers=headers)
    elif path == "tag":
        r = await client.get("/tags/quokka/tweets", headers=headers)
    elif path == "profile":
        r = await client.get(f"/users/{author.id}/tweets", headers=headers)
    elif path == "search":
        r = await client.get("/search/tweets", params={"q": "quokka"}, headers=headers)
    elif path == "search_latest":
        params = {"q": "quokka", "sort": "latest"}
        r = await client.get("/search/tweets", params=params, headers=headers)
    else:
        r = await client.post("/tweets/search", json={"keywords": ["quokka"]}, headers=headers)
    assert r.status_code == 200, r.text
    return {t["tweet_id"] for t in r.json()["items"]}


async def test_block_hides_tweets_on_every_read_path(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    a = (await make_tweet(alice, "a #quokka smiles"))["tweet_id"]
    b = (await make_tweet(bob, "another #quokka"))["tweet_id"]
    # bob likes alice's tweet before the block: alice's notification disappears with it.
    await client.post(f"/tweets/{a}/likes", headers=bob.headers)
    await client.post(f"/users/{alice.id}/follow", headers=carol.headers)
    r = await client.get("/notifications/unread-count", headers=alice.headers)
    assert r.json() == {"unread_count": 2}

    r = await client.post(f"/users/{bob.id}/block", headers=alice.headers)
    assert r.status_code == 200

    for path in READS:
        # Neither sees the other's tweets, whoever blocked; others see both.
        assert a not in await seen(client, bob, alice, path), path
        assert b not in await seen(client, alice, bob, path), path
        assert a in await seen(client, carol, alice, path), path
        assert b in await seen(client, None, bob, path), path
        assert b in await seen(client, bob, bob, path), path  # your own tweets stay

    for reader, tid in ((bob, a), (alice, b)):
        for suffix in ("", "/history", "/likes", "/comments"):
            r = await client.get(f"/tweets/{tid}{suffix}", headers=reader.headers)
            assert r.status_code == 404, (suffix, r.text)
            assert r.json()["error"]["code"] == "tweet_not_found"
    for suffix in ("", "/history", "/likes", "/comments"):
        assert (await client.get(f"/tweets/{a}{suffix}", headers=carol.headers)).status_code == 200
        assert (await client.get(f"/tweets/{a}{suffix}")).status_code == 200

    r = await client.get("/notifications", headers=alice.headers)
    assert [(n["kind"], n["actor_id"]) for n in r.json()["items"]] == [("follow", carol.id)]
    r = await client.get("/notifications/unread-count", headers=alice.headers)
    assert r.json() == {"unread_count": 1}
    # A from_user search for the blocked author finds nothing.
    params = {"q": "quokka", "from_user": alice.user_name}
    r = await client.get("/search/tweets", params=params, headers=bob.headers)
    assert r.status_code == 200 and r.json()["items"] == []

    # Unblocking shows everything again (the cache is invalidated at once).
    await client.delete(f"/users/{bob.id}/block", headers=alice.headers)
    for path in READS:
        assert a in await seen(client, bob, alice, path), path
    assert (await client.get(f"/tweets/{a}", headers=bob.headers)).status_code == 200
    r = await client.get("/notifications/unread-count", headers=alice.headers)
    assert r.json() == {"unread_count": 2}


async def test_mute_hides_only_from_timelines(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    reader, loud = await make_user(), await make_user()
    t = (await make_tweet(loud, "a #quokka again"))["tweet_id"]
    r = await client.post(f"/users/{loud.id}/mute", headers=reader.headers)
    assert r.status_code == 200
    # Timelines leave the muted author out ...
    for path in ("public", "tag"):
        assert t not in await seen(client, reader, loud, path), path
        assert t in await seen(client, None, loud, path), path
    # ... direct reads and searches do not.
    for path in ("profile", "search", "search_latest", "search_post"):
        assert t in await seen(client, reader, loud, path), path
    assert (await client.get(f"/tweets/{t}", headers=reader.headers)).status_code == 200
    # The muted user still sees the muter's tweets.
    mine = (await make_tweet(reader, "#quokka from the muter"))["tweet_id"]
    assert mine in await seen(client, loud, reader, "public")
