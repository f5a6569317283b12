"""Reposts in home timelines: they reach the reposter's followers with ``reposted_by``, an
original shows once, never to readers who follow its author or hide either user, and leaves
with an un-repost or its deletion; the live ``tweet.created`` carries ``reposted_by``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from realtime.channels import home_stream
from tests.social.conftest import TIMELINE_STORES

from .test_events import Recorder


async def entries(client: httpx.AsyncClient, user: Any, **params: Any) -> list[dict[str, Any]]:
    """Every item of ``user``'s home timeline, following cursors to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/tweets/following", params=query, headers=user.headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if (cursor := r.json()["next_cursor"]) is None:
            return items


def shown(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(tweet id, reposter's id or None) per item."""
    return [(t["tweet_id"], (t.get("reposted_by") or {}).get("user_id")) for t in items]


async def act(client: httpx.AsyncClient, method: str, path: str, user: Any) -> None:
    r = await client.request(method, path, headers=user.headers)
    assert r.status_code in (200, 204), r.text


@pytest.mark.parametrize("timeline_store", TIMELINE_STORES, indirect=True)
async def test_a_repost_reaches_followers_once_with_reposted_by_and_leaves_with_unrepost(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    author, bob, carol, reader, fan_of_author = [await make_user() for _ in range(5)]
    for followee in (bob, carol):
        await act(client, "POST", f"/users/{followee.id}/follow", reader)
    await act(client, "POST", f"/users/{bob.id}/follow", fan_of_author)
    await act(client, "POST", f"/users/{author.id}/follow", fan_of_author)
    t = await make_tweet(author, "worth sharing")
    mine = await make_tweet(bob, "bob's own")
    await act(client, "POST", f"/tweets/{t['tweet_id']}/repost", bob)
    later = await make_tweet(carol, "carol writes")
    await act(client, "POST", f"/tweets/{t['tweet_id']}/repost", carol)

    items = await entries(client, reader)
    # Newest first, the repost where bob made it; carol's later repost is not a second copy.
    assert shown(items) == [
        (later["tweet_id"], None),
        (t["tweet_id"], bob.id),
        (mine["tweet_id"], None),
    ]
    assert items[1]["reposted_by"] == {
        "user_id": bob.id,
        "user_name": bob.user_name,
        "display_name": None,
    }
    assert items[1]["content"] == "worth sharing" and items[1]["repost_count"] == 2
    assert items[1]["reposted_by_me"] is False
    # Someone who follows the author has it once, as a tweet.
    assert shown(await entries(client, fan_of_author)) == [
        (mine["tweet_id"], None),
        (t["tweet_id"], None),
    ]
    # The reposter sees their own repost; the author their tweet, not a repost of it.
    assert shown(await entries(client, bob))[0] == (t["tweet_id"], bob.id)
    assert shown(await entries(client, author)) == [(t["tweet_id"], None)]
    # Paging by one keeps every entry exactly once (cursors are entry ids).
    assert shown(await entries(client, reader, limit=1)) == shown(items)

    await act(client, "DELETE", f"/tweets/{t['tweet_id']}/repost", bob)
    assert shown(await entries(client, reader)) == [
        (later["tweet_id"], None),
        (mine["tweet_id"], None),
    ]
    assert shown(await entries(client, bob)) == [(mine["tweet_id"], None)]


async def test_blocks_mutes_and_deletes_keep_reposts_out(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any
) -> None:
    author, bob, blocker, muter, muter_of_bob, plain, later_blocker = [
        await make_user() for _ in range(7)
    ]
    for reader in (blocker, muter, muter_of_bob, plain, later_blocker):
        await act(client, "POST", f"/users/{bob.id}/follow", reader)
    await act(client, "POST", f"/users/{author.id}/block", blocker)
    await act(client, "POST", f"/users/{author.id}/mute", muter)
    await act(client, "POST", f"/users/{bob.id}/mute", muter_of_bob)
    t = await make_tweet(author, "contested")
    await act(client, "POST", f"/tweets/{t['tweet_id']}/repost", bob)
    for reader in (blocker, muter, muter_of_bob):
        assert await entries(client, reader) == []
    assert shown(await entries(client, plain)) == [(t["tweet_id"], bob.id)]
    # Blocking the reposter afterwards (which also unfollows) takes the entry out.
    assert shown(await entries(client, later_blocker)) == [(t["tweet_id"], bob.id)]
    await act(client, "POST", f"/users/{bob.id}/block", later_blocker)
    assert await entries(client, later_blocker) == []
    assert await svc.db.repost_claims.count_documents({"owner": later_blocker.id}) == 0
    # A mute set after the push hides it too (filtered on read).
    await act(client, "POST", f"/users/{author.id}/mute", plain)
    assert await entries(client, plain) == []
    await act(client, "DELETE", f"/users/{author.id}/mute", plain)
    assert shown(await entries(client, plain)) == [(t["tweet_id"], bob.id)]
    # A deleted original takes its repost entries with it.
    await act(client, "DELETE", f"/tweets/{t['tweet_id']}", author)
    assert await entries(client, plain) == []
    assert await entries(client, bob) == []
    assert await svc.db.repost_claims.count_documents({}) == 0


async def test_the_live_event_carries_reposted_by_and_unrepost_announces_the_removal(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any
) -> None:
    rec = Recorder()
    svc.events = rec
    author, bob, reader = [await make_user() for _ in range(3)]
    await act(client, "POST", f"/users/{bob.id}/follow", reader)
    t = await make_tweet(author, "live one")
    await act(client, "POST", f"/tweets/{t['tweet_id']}/repost", bob)
    frames = [p for s, p in rec.sent if s == home_stream(reader.id)]
    assert [f["event"] for f in frames] == ["tweet.created"]
    assert frames[0]["data"]["tweet_id"] == t["tweet_id"]
    assert frames[0]["data"]["reposted_by"]["user_name"] == bob.user_name
    assert frames[0]["data"]["repost_count"] == 1
    # The author's home heard of the tweet when it was posted, not of the repost.
    assert [p["data"].get("reposted_by") for s, p in rec.sent if s == home_stream(author.id)] == [
        None
    ]
    await act(client, "DELETE", f"/tweets/{t['tweet_id']}/repost", bob)
    frames = [p for s, p in rec.sent if s == home_stream(reader.id)]
    assert frames[-1]["event"] == "tweet.deleted"
    assert frames[-1]["data"] == {"tweet_id": t["tweet_id"], "user_id": author.id}


async def test_reposting_ones_own_tweet_pushes_nothing_new_and_a_rerun_round_changes_nothing(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any
) -> None:
    author, bob, reader = [await make_user() for _ in range(3)]
    await act(client, "POST", f"/users/{author.id}/follow", reader)
    await act(client, "POST", f"/users/{bob.id}/follow", reader)
    own = await make_tweet(author, "my own")
    await act(client, "POST", f"/tweets/{own['tweet_id']}/repost", author)
    assert shown(await entries(client, reader)) == [(own["tweet_id"], None)]
    assert shown(await entries(client, author)) == [(own["tweet_id"], None)]
    assert await svc.db.repost_claims.count_documents({}) == 0

    other = await make_user()
    t = await make_tweet(other, "shared")
    await act(client, "POST", f"/tweets/{t['tweet_id']}/repost", bob)
    # The worker dies after applying the round but before settling it: the round runs again.
    await svc.db.reposts.update_one(
        {"tweet_id": t["tweet_id"], "user_id": bob.id},
        {"$set": {"pending": True, "counted": False, "flips": 0}},
    )
    await svc.outbox.drain()
    assert shown(await entries(client, reader)) == [
        (t["tweet_id"], bob.id),
        (own["tweet_id"], None),
    ]
    assert await svc.db.repost_claims.count_documents({"owner": reader.id}) == 1
    assert (
        await svc.db.timelines.count_documents({"owner": reader.id, "original": {"$exists": 1}})
        == 1
    )
    assert (await client.get(f"/tweets/{t['tweet_id']}")).json()["repost_count"] == 1


@pytest.mark.parametrize("timeline_store", TIMELINE_STORES, indirect=True)
async def test_a_big_reposters_reposts_are_pulled_at_read_time(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any
) -> None:
    svc.settings.fanout_max_followers = 1
    author, big, reader, fan_of_author = [await make_user() for _ in range(4)]
    for who in (reader, fan_of_author):
        await act(client, "POST", f"/users/{big.id}/follow", who)
    await act(client, "POST", f"/users/{author.id}/follow", fan_of_author)
    svc.social_cache.invalidate("big-authors")
    t = await make_tweet(author, "amplified")
    mine = await make_tweet(big, "the big one's own")
    await act(client, "POST", f"/tweets/{t['tweet_id']}/repost", big)
    assert await svc.db.repost_claims.count_documents({"owner": reader.id}) == 0  # not pushed
    expected = [(t["tweet_id"], big.id), (mine["tweet_id"], None)]
    assert shown(await entries(client, reader)) == expected
    assert shown(await entries(client, reader, limit=1)) == expected
    assert shown(await entries(client, big)) == expected  # their own, pushed to them alone
    assert shown(await entries(client, fan_of_author)) == [
        (mine["tweet_id"], None),
        (t["tweet_id"], None),
    ]
    await act(client, "DELETE", f"/tweets/{t['tweet_id']}/repost", big)
    assert shown(await entries(client, reader)) == [(mine["tweet_id"], None)]
    assert shown(await entries(client, big)) == [(mine["tweet_id"], None)]
