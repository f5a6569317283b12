"""/tweets over HTTP: compose, read, edit with history, delete, and the lists."""

from __future__ import annotations

import base64

from .test_auth import error_code

TWEET_FIELDS = {
    "tweet_id", "user_id", "user_name", "content", "html", "tags", "mentions", "created_at",
    "edited", "edited_at", "original_content", "like_count", "reply_count",
}  # fmt: skip


async def test_post_a_tweet(client, make_user, clock):
    alice = await make_user("Alice")
    r = await client.post(
        "/tweets",
        json={"content": "  Hello *world* #Murmur #murmur @Bob_2  "},
        headers=alice.headers,
    )
    assert r.status_code == 201, r.text
    tweet = r.json()
    assert TWEET_FIELDS <= set(tweet)
    assert tweet["user_id"] == alice.id and tweet["user_name"] == "Alice"
    assert tweet["content"] == "Hello *world* #Murmur #murmur @Bob_2"
    assert "<em>world</em>" in tweet["html"]
    assert tweet["tags"] == ["murmur"]
    assert tweet["mentions"] == ["bob_2"]
    assert tweet["edited"] is False and tweet["edited_at"] is None
    assert tweet["original_content"] is None
    assert tweet["like_count"] == tweet["reply_count"] == 0
    assert tweet["created_at"] == clock().strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{clock().microsecond // 1000:03d}Z"
    )
    r = await client.get(f"/tweets/{tweet['tweet_id']}")
    assert r.status_code == 200
    assert r.json() == tweet


async def test_posting_needs_a_token(client):
    r = await client.post("/tweets", json={"content": "hi"})
    assert r.status_code == 401
    r = await client.post("/tweets", json={"content": "hi"}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401


async def test_tweet_length_limits(client, make_user):
    bob = await make_user("bob")
    r = await client.post("/tweets", json={"content": "a" * 280}, headers=bob.headers)
    assert r.status_code == 201
    r = await client.post("/tweets", json={"content": "é" * 280}, headers=bob.headers)
    assert r.status_code == 201
    # Surrounding whitespace is trimmed before counting.
    r = await client.post("/tweets", json={"content": "  " + "a" * 280 + "\n"}, headers=bob.headers)
    assert r.status_code == 201
    r = await client.post("/tweets", json={"content": "a" * 281}, headers=bob.headers)
    assert r.status_code == 422
    assert error_code(r) == "tweet_too_long"
    assert r.json()["error"]["details"][0]["length"] == 281
    for blank in ("", "   ", "\n\t  \n"):
        r = await client.post("/tweets", json={"content": blank}, headers=bob.headers)
        assert r.status_code == 422, repr(blank)
    me = (await client.get("/users/me", headers=bob.headers)).json()
    assert me["tweet_count"] == 3


async def test_tweet_bad_bodies_write_nothing(client, make_user):
    carl = await make_user("carl")
    h = carl.headers
    json_ct = {**h, "content-type": "application/json"}
    for body in (
        {},
        {"content": None},
        {"content": 5},
        {"content": ["x"]},
        {"content": "x", "a": 1},
    ):
        r = await client.post("/tweets", json=body, headers=h)
        assert r.status_code == 422, body
        assert error_code(r) == "validation_error"
    for raw in (b"[]", b"null", b"", b'"hello"', b"1"):
        r = await client.post("/tweets", content=raw, headers=json_ct)
        assert r.status_code == 422, raw
    r = await client.post("/tweets", content=b'{"content": "hi"', headers=json_ct)
    assert r.status_code == 400
    assert error_code(r) == "malformed_json"
    r = await client.post("/tweets", content=b'{"content": "hi"}', headers=h)
    assert r.status_code == 415
    r = await client.post(
        "/tweets", content=b'{"content": "hi"}', headers={**h, "content-type": "text/plain"}
    )
    assert r.status_code == 415
    assert error_code(r) == "unsupported_media_type"
    r = await client.post("/tweets", json={"content": "x" * 70_000}, headers=h)
    assert r.status_code == 413
    assert error_code(r) == "payload_too_large"

    async def chunks():
        for _ in range(20):
            yield b" " * 8192

    # A streamed body without a Content-Length is capped too.
    r = await client.post("/tweets", content=chunks(), headers=json_ct)
    assert r.status_code == 413
    assert (await client.get(f"/users/{carl.id}/tweets")).json()["items"] == []
    assert (await client.get("/users/me", headers=h)).json()["tweet_count"] == 0


async def test_get_bad_or_unknown_tweet_ids(client):
    for tweet_id in ("nope", "0" * 24, "1" * 23, "g" * 24, "x" * 3000):
        for path in (f"/tweets/{tweet_id}", f"/tweets/{tweet_id}/history"):
            r = await client.get(path)
            assert r.status_code == 404, path
            assert error_code(r) == "tweet_not_found"


async def test_edit_keeps_the_original_and_the_history(client, make_user, make_tweet, clock):
    dora = await make_user("dora")
    tweet = await make_tweet(dora, "first #one")
    tid = tweet["tweet_id"]
    clock.advance(minutes=1)
    r = await client.patch(f"/tweets/{tid}", json={"content": "second #two"}, headers=dora.headers)
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["content"] == "second #two"
    assert edited["tags"] == ["two"]
    assert edited["edited"] is True
    assert edited["original_content"] == "first #one"
    assert edited["created_at"] == tweet["created_at"]
    first_edit_at = edited["edited_at"]
    assert first_edit_at > tweet["created_at"]

    clock.advance(minutes=1)
    r = await client.patch(f"/tweets/{tid}", json={"content": "third"}, headers=dora.headers)
    assert r.json()["original_content"] == "first #one"
    assert r.json()["edited_at"] > first_edit_at
    assert (await client.get(f"/tweets/{tid}")).json() == r.json()

    r = await client.get(f"/tweets/{tid}/history")
    assert r.status_code == 200
    history = r.json()
    assert history["tweet_id"] == tid
    assert history["original_content"] == "first #one"
    assert [e["content"] for e in history["edits"]] == ["second #two", "third"]
    assert history["edits"][0]["edited_at"] == first_edit_at
    assert "edits" not in (await client.get(f"/tweets/{tid}")).json()


async def test_history_of_an_unedited_tweet(client, make_user, make_tweet):
    eve = await make_user("eve")
    tweet = await make_tweet(eve, "just once")
    r = await client.get(f"/tweets/{tweet['tweet_id']}/history")
    assert r.json() == {"tweet_id": tweet["tweet_id"], "original_content": "just once", "edits": []}


async def test_editing_to_the_same_text_is_not_an_edit(client, make_user, make_tweet):
    fred = await make_user("fred")
    tweet = await make_tweet(fred, "same")
    r = await client.patch(
        f"/tweets/{tweet['tweet_id']}", json={"content": " same "}, headers=fred.headers
    )
    assert r.status_code == 200
    assert r.json()["edited"] is False


async def test_edit_text_that_looks_like_mongo_syntax_is_stored_literally(
    client, make_user, make_tweet
):
    gus = await make_user("gus")
    tweet = await make_tweet(gus, "plain")
    tid = tweet["tweet_id"]
    for text in ("$content", "$$ROOT", "$literal", '{"$gt": ""}'):
        r = await client.patch(f"/tweets/{tid}", json={"content": text}, headers=gus.headers)
        assert r.status_code == 200, r.text
        assert r.json()["content"] == text
        assert (await client.get(f"/tweets/{tid}")).json()["content"] == text
    history = (await client.get(f"/tweets/{tid}/history")).json()
    assert [e["content"] for e in history["edits"]] == [
        "$content",
        "$$ROOT",
        "$literal",
        '{"$gt": ""}',
    ]
    assert history["original_content"] == "plain"


async def test_a_tweet_starting_with_dollar_keeps_its_original_on_edit(
    client, make_user, make_tweet
):
    hal = await make_user("hal")
    tweet = await make_tweet(hal, "$user_id costs $5")
    r = await client.patch(
        f"/tweets/{tweet['tweet_id']}", json={"content": "fixed"}, headers=hal.headers
    )
    assert r.json()["original_content"] == "$user_id costs $5"


async def test_only_the_author_may_edit_or_delete(client, make_user, make_tweet):
    ida = await make_user("ida")
    jon = await make_user("jon")
    tweet = await make_tweet(ida, "mine")
    tid = tweet["tweet_id"]
    r = await client.patch(f"/tweets/{tid}", json={"content": "yours"}, headers=jon.headers)
    assert r.status_code == 403
    assert error_code(r) == "not_author"
    r = await client.delete(f"/tweets/{tid}", headers=jon.headers)
    assert r.status_code == 403
    assert error_code(r) == "not_author"
    assert (await client.get(f"/tweets/{tid}")).json() == tweet
    r = await client.patch(f"/tweets/{tid}", json={"content": "x"})
    assert r.status_code == 401
    r = await client.delete(f"/tweets/{tid}")
    assert r.status_code == 401


async def test_edit_bad_input(client, make_user, make_tweet):
    kim = await make_user("kim")
    tweet = await make_tweet(kim, "original")
    tid = tweet["tweet_id"]
    for body in ({"content": "a" * 281}, {"content": "  "}, {"content": None}, {}, {"x": "y"}):
        r = await client.patch(f"/tweets/{tid}", json=body, headers=kim.headers)
        assert r.status_code == 422, body
    for bad in ("nope", "0" * 24):
        r = await client.patch(f"/tweets/{bad}", json={"content": "x"}, headers=kim.headers)
        assert r.status_code == 404
        r = await client.delete(f"/tweets/{bad}", headers=kim.headers)
        assert r.status_code == 404
    assert (await client.get(f"/tweets/{tid}")).json() == tweet


async def test_delete_a_tweet(client, make_user, make_tweet):
    lea = await make_user("lea")
    keep = await make_tweet(lea, "keep")
    gone = await make_tweet(lea, "gone")
    assert (await client.get("/users/me", headers=lea.headers)).json()["tweet_count"] == 2
    r = await client.delete(f"/tweets/{gone['tweet_id']}", headers=lea.headers)
    assert r.status_code == 204
    assert r.content == b""
    for path in (f"/tweets/{gone['tweet_id']}", f"/tweets/{gone['tweet_id']}/history"):
        assert (await client.get(path)).status_code == 404
    r = await client.delete(f"/tweets/{gone['tweet_id']}", headers=lea.headers)
    assert r.status_code == 404
    r = await client.patch(
        f"/tweets/{gone['tweet_id']}", json={"content": "back"}, headers=lea.headers
    )
    assert r.status_code == 404
    assert (await client.get("/users/me", headers=lea.headers)).json()["tweet_count"] == 1
    items = (await client.get("/tweets")).json()["items"]
    assert [t["tweet_id"] for t in items] == [keep["tweet_id"]]


# --- lists ---------------------------------------------------------------------------------


async def _post_many(make_tweet, user, n: int, prefix: str = "t") -> list[str]:
    return [(await make_tweet(user, f"{prefix}{i}"))["tweet_id"] for i in range(n)]


async def test_latest_tweets_from_everyone(client, make_user, make_tweet):
    max_ = await make_user("max")
    ned = await make_user("ned")
    a = await make_tweet(max_, "a")
    b = await make_tweet(ned, "b")
    c = await make_tweet(max_, "c")
    for params in ({}, {"sort": "latest"}):
        r = await client.get("/tweets", params=params)
        assert r.status_code == 200
        body = r.json()
        assert [t["tweet_id"] for t in body["items"]] == [
            c["tweet_id"],
            b["tweet_id"],
            a["tweet_id"],
        ]
        assert body["next_cursor"] is None
    r = await client.get("/tweets", params={"sort": "oldest"})
    assert r.status_code == 422


async def test_limit_bounds(client, make_user, make_tweet):
    ola = await make_user("ola")
    await _post_many(make_tweet, ola, 3)
    for path in ("/tweets", f"/users/{ola.id}/tweets", "/users/me/tweets"):
        for bad in ("0", "101", "-1", "abc", "1.5", "99999999999999999999"):
            r = await client.get(path, params={"limit": bad}, headers=ola.headers)
            assert r.status_code == 422, (path, bad)
            assert error_code(r) == "validation_error"
        for good in ("1", "100"):
            r = await client.get(path, params={"limit": good}, headers=ola.headers)
            assert r.status_code == 200, (path, good)
        for bad_page in ("0", "-3", "x"):
            r = await client.get(path, params={"page": bad_page}, headers=ola.headers)
            assert r.status_code == 422


async def test_default_limit_is_20(client, make_user, make_tweet):
    pam = await make_user("pam")
    await _post_many(make_tweet, pam, 21)
    body = (await client.get("/tweets")).json()
    assert len(body["items"]) == 20
    assert body["next_cursor"]


async def test_user_tweets_by_page(client, make_user, make_tweet):
    quin = await make_user("quin")
    other = await make_user("other")
    ids = await _post_many(make_tweet, quin, 5)
    await make_tweet(other, "not quin's")
    newest_first = ids[::-1]
    got = []
    for page in (1, 2, 3):
        r = await client.get(f"/users/{quin.id}/tweets", params={"page": page, "limit": 2})
        assert r.status_code == 200
        got.append([t["tweet_id"] for t in r.json()["items"]])
    assert got == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]
    r = await client.get(f"/users/{quin.id}/tweets", params={"page": 4, "limit": 2})
    assert r.json() == {"items": [], "next_cursor": None}


async def test_user_tweets_via_me(client, make_user, make_tweet):
    rob = await make_user("rob")
    ids = await _post_many(make_tweet, rob, 2)
    r = await client.get("/users/me/tweets", headers=rob.headers)
    assert r.status_code == 200
    assert [t["tweet_id"] for t in r.json()["items"]] == ids[::-1]
    r = await client.get("/users/me/tweets")
    assert r.status_code == 401
    for bad in ("nope", "0" * 24):
        r = await client.get(f"/users/{bad}/tweets")
        assert r.status_code == 404
        assert error_code(r) == "user_not_found"


async def _walk(client, path: str, cursor: str | None) -> list[str]:
    seen: list[str] = []
    while cursor:
        r = await client.get(path, params={"limit": 2, "cursor": cursor})
        assert r.status_code == 200
        seen += [t["tweet_id"] for t in r.json()["items"]]
        cursor = r.json()["next_cursor"]
    return seen


async def test_cursor_is_stable_while_new_tweets_arrive(client, make_user, make_tweet):
    sue = await make_user("sue")
    for path in ("/tweets", f"/users/{sue.id}/tweets"):
        before = (await client.get(path, params={"limit": 100})).json()["items"]
        old = await _post_many(make_tweet, sue, 5, "old")
        expected = old[::-1] + [t["tweet_id"] for t in before]
        first = (await client.get(path, params={"limit": 2})).json()
        assert [t["tweet_id"] for t in first["items"]] == expected[:2]
        await _post_many(make_tweet, sue, 3, "new")
        rest = await _walk(client, path, first["next_cursor"])
        assert rest == expected[2:], path


async def test_bad_cursors_are_400(client, make_user):
    tom = await make_user("tom")
    three_bytes = base64.urlsafe_b64encode(b"abc").decode()
    for cursor in ("!!!", "a", three_bytes, "é", "x" * 500, "AAAAAAAAAAAAAAAAAAAA"):
        for path in ("/tweets", f"/users/{tom.id}/tweets"):
            r = await client.get(path, params={"cursor": cursor})
            assert r.status_code == 400, (path, cursor, r.text)
            assert error_code(r) == "invalid_cursor"


async def test_an_edit_based_on_stale_text_is_refused_not_lost(app, make_user, make_tweet):
    """The edit is one conditional update: it only applies over the text the editor saw."""
    from bson import ObjectId

    from server.store import tweets as tweet_store

    alice = await make_user()
    tweet = await make_tweet(alice, "first")
    db = app.state.services.db
    fields = {
        "html": "<p>x</p>",
        "tags": [],
        "links": [],
        "mentions": [],
        "now": app.state.services.clock(),
    }
    oid = ObjectId(tweet["tweet_id"])
    assert await tweet_store.edit(db, tweet_id=oid, previous="first", content="second", **fields)
    stale = await tweet_store.edit(db, tweet_id=oid, previous="first", content="third", **fields)
    assert stale is None
    current = await tweet_store.get(db, tweet_id=oid)
    assert current is not None and current.content == "second"
