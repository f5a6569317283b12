"""Search end to end over HTTP (keyword back-end on SecantusDB; $text on a MongoDB)."""

from __future__ import annotations

from typing import Any

import pytest


async def ids(r: Any) -> list[str]:
    assert r.status_code == 200, r.text
    return [t["content"] for t in r.json()["items"]]


@pytest.fixture
async def corpus(make_user: Any, make_tweet: Any, clock: Any) -> Any:
    alice = await make_user("alice")
    bob = await make_user("bob")
    texts = [
        (alice, "I love running in the park"),
        (bob, "She runs every morning #fitness"),
        (alice, "New York is rainy today"),
        (bob, "York is not new, @alice"),
        (alice, "Café au lait with #Python friends"),
        (bob, "rain rain rain in the park"),
    ]
    for user, text in texts:
        await make_tweet(user, text)
        clock.advance(seconds=10)
    return alice, bob


async def test_the_probe_chooses_the_keyword_back_end_on_secantusdb(app: Any) -> None:
    assert app.state.services.search_backend in ("keyword", "text")
    from server.search.engine import choose_backend

    db = app.state.services.db
    assert await choose_backend(db, "keyword") == "keyword"


async def test_stemming_finds_other_forms(client, corpus):
    r = await client.post("/tweets/search", json={"keywords": ["run"]})
    assert sorted(await ids(r)) == ["I love running in the park", "She runs every morning #fitness"]


async def test_case_and_accents_do_not_matter(client, corpus):
    r = await client.get("/search/tweets", params={"q": "CAFE"})
    assert await ids(r) == ["Café au lait with #Python friends"]


async def test_stop_words_are_ignored_and_a_stop_word_query_is_422(client, corpus):
    r = await client.get("/search/tweets", params={"q": "the park"})
    assert sorted(await ids(r)) == ["I love running in the park", "rain rain rain in the park"]
    r = await client.get("/search/tweets", params={"q": "the in"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "search_empty"


async def test_quoted_phrases_match_word_for_word(client, corpus):
    r = await client.get("/search/tweets", params={"q": '"new york"'})
    assert await ids(r) == ["New York is rainy today"]
    r = await client.get("/search/tweets", params={"q": "new york", "sort": "latest"})
    assert await ids(r) == ["York is not new, @alice", "New York is rainy today"]


async def test_minus_excludes(client, corpus):
    r = await client.get("/search/tweets", params={"q": "park -rain"})
    assert await ids(r) == ["I love running in the park"]
    r = await client.post("/tweets/search", json={"keywords": ["york", '-"new york"']})
    assert await ids(r) == ["York is not new, @alice"]


async def test_tags_and_mentions_match_the_extracted_entities(client, corpus):
    r = await client.get("/search/tweets", params={"q": "#python"})
    assert await ids(r) == ["Café au lait with #Python friends"]
    r = await client.post("/search/tweets", json={"tags": ["fitness"]})
    assert await ids(r) == ["She runs every morning #fitness"]
    r = await client.get("/search/tweets", params={"q": "@alice"})
    assert await ids(r) == ["York is not new, @alice"]
    # A plain word is not a mention: 'alice' appears nowhere as a word.
    r = await client.get("/search/tweets", params={"q": "#fitness -#fitness"})
    assert await ids(r) == []


async def test_from_user_and_time_range(client, corpus, clock):
    alice, bob = corpus
    body = {"keywords": ["park"], "from_user": "bob"}
    r = await client.post("/search/tweets", json=body)
    assert await ids(r) == ["rain rain rain in the park"]
    r = await client.post("/search/tweets", json={**body, "from_user": "nobody_here"})
    assert await ids(r) == []
    late = clock().isoformat()
    r = await client.post("/search/tweets", json={"keywords": ["park"], "since": late})
    assert await ids(r) == []
    r = await client.post("/search/tweets", json={"keywords": ["park"], "until": late})
    assert len(await ids(r)) == 2


async def test_relevance_ranks_term_frequency_and_latest_ranks_by_time(
    client, make_user, make_tweet, clock
):
    u = await make_user()
    await make_tweet(u, "coffee coffee coffee, all day")
    clock.advance(minutes=1)
    await make_tweet(u, "one coffee please")
    r = await client.get("/search/tweets", params={"q": "coffee"})
    assert await ids(r) == ["coffee coffee coffee, all day", "one coffee please"]
    r = await client.get("/search/tweets", params={"q": "coffee", "sort": "latest"})
    assert await ids(r) == ["one coffee please", "coffee coffee coffee, all day"]
    # Recency: the same text score, so the newer one wins.
    await make_tweet(u, "coffee coffee coffee, every day")
    r = await client.get("/search/tweets", params={"q": "coffee"})
    assert (await ids(r))[0] == "coffee coffee coffee, every day"


@pytest.mark.parametrize("sort", ["relevance", "latest"])
async def test_pagination_walks_every_match_once(client, make_user, make_tweet, clock, sort):
    u = await make_user()
    for i in range(7):
        await make_tweet(u, f"tea number {i}" + " tea" * (i % 3))
        clock.advance(seconds=1)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": "3", "sort": sort, **({"cursor": cursor} if cursor else {})}
        r = await client.post("/tweets/search", json={"keywords": ["tea"]}, params=params)
        assert r.status_code == 200, r.text
        seen += [t["tweet_id"] for t in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and len(set(seen)) == 7
    r = await client.post(
        "/tweets/search", json={"keywords": ["tea"], "sort": sort}, params={"page": 3, "limit": 3}
    )
    assert len(r.json()["items"]) == 1
    r = await client.post("/tweets/search", json={"keywords": ["tea"]}, params={"cursor": "!!"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_cursor"


async def test_deleted_and_hidden_tweets_never_appear(client, app, make_user, make_tweet):
    u = await make_user()
    gone = await make_tweet(u, "ephemeral thought")
    hidden = await make_tweet(u, "ephemeral secret")
    r = await client.delete(f"/tweets/{gone['tweet_id']}", headers=u.headers)
    assert r.status_code == 204
    from bson import ObjectId

    await app.state.services.db.tweets.update_one(
        {"_id": ObjectId(hidden["tweet_id"])}, {"$set": {"hidden": True}}
    )
    for sort in ("relevance", "latest"):
        r = await client.get("/search/tweets", params={"q": "ephemeral", "sort": sort})
        assert await ids(r) == []


async def test_an_edit_is_searchable_at_once(client, make_user, make_tweet):
    u = await make_user()
    t = await make_tweet(u, "first draft about cats")
    r = await client.patch(
        f"/tweets/{t['tweet_id']}", json={"content": "final words on dogs"}, headers=u.headers
    )
    assert r.status_code == 200
    r = await client.get("/search/tweets", params={"q": "dog"})
    assert await ids(r) == ["final words on dogs"]
    r = await client.get("/search/tweets", params={"q": "cats"})
    assert await ids(r) == []


@pytest.mark.parametrize(
    "body",
    [{}, {"keywords": []}, {"keywords": ["x"], "sort": "best"}, {"keywords": "run"}, {"kw": ["a"]}],
)
async def test_bad_search_bodies_are_422(client, body):
    r = await client.post("/tweets/search", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"


async def test_get_search_needs_q(client):
    r = await client.get("/search/tweets")
    assert r.status_code == 422
    r = await client.get("/search/tweets", params={"q": "x", "since": "yesterday"})
    assert r.status_code == 422
