"""Pages of likers, followers and followees while an undo waits for the outbox worker.

An unlike or unfollow turns its edge off at once and the worker removes it later. Pages
drop off edges as they read (not in the query, which would cost SecantusDB a collection
scan), and must still come out full, in order, with nothing missing or repeated, by cursor
and by page number alike.
"""

from __future__ import annotations

from typing import Any

import httpx


async def _pages(http: httpx.AsyncClient, path: str, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = await http.get(path, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append([u["user_id"] for u in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


async def test_pages_skip_edges_turned_off_but_not_yet_removed(app, client, make_user, make_tweet):
    star = await make_user()
    tweet = await make_tweet(star, "like me")
    fans = [await make_user() for _ in range(6)]
    for fan in fans:  # oldest first
        assert (
            await client.post(f"/tweets/{tweet['tweet_id']}/likes", headers=fan.headers)
        ).status_code == 200
        assert (
            await client.post(f"/users/{star.id}/follow", headers=fan.headers)
        ).status_code == 200
    await app.state.services.outbox.stop()  # undos below stay off and pending
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://murmur.test") as raw:
        for gone in (fans[1], fans[4]):
            r = await raw.delete(f"/tweets/{tweet['tweet_id']}/likes", headers=gone.headers)
            assert r.status_code == 200
            r = await raw.delete(f"/users/{star.id}/follow", headers=gone.headers)
            assert r.status_code == 200
        newest_first = [f.id for f in reversed(fans) if f not in (fans[1], fans[4])]
        for path in (f"/tweets/{tweet['tweet_id']}/likes", f"/users/{star.id}/followers"):
            assert await _pages(raw, path, 2) == [newest_first[:2], newest_first[2:]]
            r = await raw.get(path, params={"limit": 2, "page": 2})  # by page number
            assert [u["user_id"] for u in r.json()["items"]] == newest_first[2:]
        for fan in fans:
            r = await raw.get(f"/users/{fan.id}/following")
            following = [u["user_id"] for u in r.json()["items"]]
            assert following == ([] if fan in (fans[1], fans[4]) else [star.id])
