"""A repost reaches a follower's open home socket as ``tweet.created`` with ``reposted_by``,
and its un-repost as ``tweet.deleted`` (the card leaves the timeline)."""

from __future__ import annotations

from typing import Any

import httpx


async def test_a_repost_arrives_live_on_the_followers_home_socket(
    served: Any, make_user: Any, make_tweet: Any
) -> None:
    author, bob, reader = await make_user(), await make_user(), await make_user()
    async with httpx.AsyncClient(base_url=served.url) as http:
        r = await http.post(f"/users/{bob.id}/follow", headers=reader.headers)
        assert r.status_code == 200, r.text
        ws = await served.ws(reader.access_token)
        await ws.subscribe("home")
        t = await make_tweet(author, "pass it on")
        r = await http.post(f"/tweets/{t['tweet_id']}/repost", headers=bob.headers)
        assert r.status_code == 200, r.text
        frame = await ws.expect("event", stream="home", event="tweet.created")
        assert frame["data"]["tweet_id"] == t["tweet_id"]
        assert frame["data"]["reposted_by"] == {
            "user_id": bob.id,
            "user_name": bob.user_name,
            "display_name": None,
        }
        r = await http.delete(f"/tweets/{t['tweet_id']}/repost", headers=bob.headers)
        assert r.status_code == 200, r.text
        frame = await ws.expect("event", stream="home", event="tweet.deleted")
        assert frame["data"] == {"tweet_id": t["tweet_id"], "user_id": author.id}
        await ws.close()
