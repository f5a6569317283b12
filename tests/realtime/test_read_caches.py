"""Warm reads cost no database command with Redis (two Murmurs, one real Redis), and every
change to a tweet made through one process shows on the other's next read."""

from __future__ import annotations

from typing import Any

import httpx

from tests import redisrounds
from tests.dbcount import by_collection, moved, quiet
from tests.realtime import test_rest_auth
from tests.realtime.conftest import settle_all

# Two Murmurs on one Redis, an admin "chief", no rate limits: as for the REST auth caches.
settings, pair = test_rest_auth.settings, test_rest_auth.pair


async def call(app: Any, user: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A request to ``app`` as ``user`` (None: signed out)."""
    headers = user.headers if user is not None else {}
    async with httpx.AsyncClient(base_url=app.url, headers=headers) as http:
        r = await http.request(method, path, **kwargs)
        assert r.status_code < 500, r.text
    if method != "GET":
        await settle_all()  # the write's effects, as another client sees them a moment later
    return r


async def post(app: Any, user: Any, content: str) -> str:
    r = await call(app, user, "POST", "/tweets", json={"content": content})
    assert r.status_code == 201, r.text
    tweet_id: str = r.json()["tweet_id"]
    return tweet_id


async def drain(*apps: Any) -> None:
    """Run the fan-out jobs now (the worker does it off the request path)."""
    for app in apps:
        await app.app.state.services.outbox.drain()


async def warm_read(
    app: Any, user: Any, path: str, round_trips: int = 2, **params: Any
) -> dict[str, Any]:
    """Read twice; the second read must send no database command, and at most
    ``round_trips`` to Redis (a page: its ids, then its tweets with the reader's marks). Its
    body."""
    assert (await call(app, user, "GET", path, params=params)).status_code == 200
    async with quiet(app.app):
        before = by_collection(app.app)
        with redisrounds.round_trips(*redisrounds.read_clients(app.app.state.services)) as sent:
            r = await call(app, user, "GET", path, params=params)
        assert r.status_code == 200, r.text
        queried = moved(before, by_collection(app.app))
    assert queried == {}, path
    assert len(sent) <= round_trips, (path, sent)
    body: dict[str, Any] = r.json()
    return body


async def test_warm_home_single_public_and_profile_reads_query_nothing(pair, make_user):
    a, b = pair
    reader, author = await make_user(), await make_user()
    assert (await call(a, reader, "POST", f"/users/{author.id}/follow")).status_code == 200
    theirs = [await post(a, author, f"theirs {i}") for i in range(3)]
    mine = await post(a, reader, "my own")
    await drain(a, b)
    r = await call(b, reader, "POST", f"/tweets/{theirs[0]}/likes")
    assert r.status_code == 200, r.text

    # The whole timeline: it runs out, so the page also asks the followed authors' recent ids.
    home = await warm_read(b, reader, "/tweets/following", round_trips=3)
    assert [t["tweet_id"] for t in home["items"]] == [mine, *theirs[::-1]]
    assert [t["liked_by_me"] for t in home["items"]] == [False, False, False, True]
    # A page the stored timeline fills: its ids, then its tweets with the reader's marks.
    home = await warm_read(b, reader, "/tweets/following", limit=2)
    assert [t["tweet_id"] for t in home["items"]] == [mine, theirs[2]]
    one = await warm_read(b, reader, f"/tweets/{theirs[0]}", round_trips=1)  # tweet + marks
    assert one["liked_by_me"] is True and one["like_count"] == 1
    public = await warm_read(b, reader, "/tweets", sort="latest")
    assert [t["tweet_id"] for t in public["items"]] == [mine, *theirs[::-1]]
    anonymous = await warm_read(b, None, "/tweets", limit=2)
    assert [t["tweet_id"] for t in anonymous["items"]] == [mine, theirs[2]]
    assert anonymous["next_cursor"]
    profile = await warm_read(b, reader, f"/users/{author.id}/tweets")
    assert [t["tweet_id"] for t in profile["items"]] == theirs[::-1]


async def test_edits_likes_deletes_and_hides_show_on_the_other_process_at_once(pair, make_user):
    a, b = pair
    chief, author, fan = (
        await make_user("chief"), await make_user(), await make_user()
    )  # fmt: skip
    assert (await call(a, fan, "POST", f"/users/{author.id}/follow")).status_code == 200
    kept, gone, hidden = [await post(a, author, c) for c in ("kept", "gone", "hidden")]
    await drain(a, b)
    paths = ["/tweets/following", "/tweets", f"/users/{author.id}/tweets"]

    async def shown_on_b() -> list[dict[str, Any]]:
        """What b shows the fan on every list (all alike), once b has cached them."""
        pages = [(await call(b, fan, "GET", p)).json()["items"] for p in paths]
        assert pages[0] == pages[1] == pages[2]
        items: list[dict[str, Any]] = pages[0]
        return items

    assert [t["content"] for t in await shown_on_b()] == ["hidden", "gone", "kept"]
    assert (await call(b, fan, "GET", f"/tweets/{kept}")).json()["content"] == "kept"

    r = await call(a, author, "PATCH", f"/tweets/{kept}", json={"content": "kept, edited"})
    assert r.status_code == 200, r.text
    assert (await call(b, fan, "GET", f"/tweets/{kept}")).json()["content"] == "kept, edited"
    assert (await shown_on_b())[-1]["content"] == "kept, edited"

    assert (await call(a, fan, "POST", f"/tweets/{kept}/likes")).status_code == 200
    liked = (await call(b, fan, "GET", f"/tweets/{kept}")).json()
    assert (liked["like_count"], liked["liked_by_me"]) == (1, True)
    assert [(t["like_count"], t["liked_by_me"]) for t in await shown_on_b()][-1] == (1, True)
    assert (await call(a, fan, "DELETE", f"/tweets/{kept}/likes")).status_code == 200
    assert [(t["like_count"], t["liked_by_me"]) for t in await shown_on_b()][-1] == (0, False)

    r = await call(a, fan, "POST", f"/tweets/{kept}/comments", json={"content": "a reply"})
    assert r.status_code == 201, r.text
    reply = r.json()["tweet_id"]
    assert (await call(b, fan, "GET", f"/tweets/{kept}")).json()["reply_count"] == 1
    assert (await call(b, fan, "GET", f"/tweets/{reply}")).json()["parent_deleted"] is False

    assert (await call(a, author, "DELETE", f"/tweets/{gone}")).status_code == 204
    assert (await call(b, fan, "GET", f"/tweets/{gone}")).status_code == 404
    assert (await call(a, chief, "POST", f"/moderation/tweets/{hidden}/hide")).status_code == 200
    assert (await call(b, fan, "GET", f"/tweets/{hidden}")).status_code == 404
    await drain(a, b)  # the reply's push into the fan's own stored timeline
    lists = [(await call(b, fan, "GET", p)).json()["items"] for p in paths]
    home, public, profile = ([t["content"] for t in items] for items in lists)
    assert home == public == ["a reply", "kept, edited"]
    assert profile == ["kept, edited"]

    r = await call(a, chief, "POST", f"/moderation/tweets/{hidden}/restore")
    assert r.status_code == 200, r.text
    assert (await call(b, fan, "GET", f"/tweets/{hidden}")).json()["content"] == "hidden"
    contents = [t["content"] for t in (await call(b, fan, "GET", paths[1])).json()["items"]]
    assert contents == ["a reply", "hidden", "kept, edited"]
    assert (await call(a, author, "DELETE", f"/tweets/{kept}")).status_code == 204
    assert (await call(b, fan, "GET", f"/tweets/{reply}")).json()["parent_deleted"] is True
