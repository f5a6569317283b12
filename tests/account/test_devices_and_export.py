"""Signed-in devices (list, end one, end the others) and the streamed zip export."""

from __future__ import annotations

import io
import json
import zipfile

from tests.account.helpers import bearer, sign_in


async def test_sessions_are_listed_with_their_client(client, make_user):
    alice = await make_user()
    r = await client.post(
        "/auth/login",
        json={"user_name": alice.user_name, "password": alice.password},
        headers={"User-Agent": "Phone/1.0"},
    )
    phone = r.json()
    r = await client.get("/users/me/sessions", headers=alice.headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 2
    assert [i["current"] for i in items].count(True) == 1
    assert {i["user_agent"] for i in items} >= {"Phone/1.0"}
    assert all(i["address"] and i["created_at"].endswith("Z") for i in items)
    mine = (await client.get("/users/me/sessions", headers=bearer(phone["access_token"]))).json()
    assert next(i for i in mine["items"] if i["current"])["user_agent"] == "Phone/1.0"


async def test_ending_one_session(client, make_user):
    alice, bob = await make_user(), await make_user()
    phone = (await sign_in(client, alice)).json()
    items = (await client.get("/users/me/sessions", headers=alice.headers)).json()["items"]
    other = next(i["session_id"] for i in items if not i["current"])
    r = await client.delete(f"/users/me/sessions/{other}", headers=bob.headers)
    assert r.status_code == 404  # not bob's
    r = await client.delete(f"/users/me/sessions/{other}", headers=alice.headers)
    assert r.status_code == 204
    r = await client.get("/users/me", headers=bearer(phone["access_token"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"
    r = await client.post("/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert r.status_code == 401
    for bad in (other, "not-an-id", "0" * 24):
        r = await client.delete(f"/users/me/sessions/{bad}", headers=alice.headers)
        assert r.status_code == 404
    assert len((await client.get("/users/me/sessions", headers=alice.headers)).json()["items"]) == 1


async def test_ending_every_other_session(client, make_user):
    alice = await make_user()
    others = [(await sign_in(client, alice)).json() for _ in range(3)]
    assert (await client.delete("/users/me/sessions", headers=alice.headers)).status_code == 204
    for pair in others:
        assert (
            await client.get("/users/me", headers=bearer(pair["access_token"]))
        ).status_code == 401
    assert (await client.get("/users/me", headers=alice.headers)).status_code == 200


async def test_the_export_holds_everything_the_account_owns(client, make_user, make_tweet):
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    first = await make_tweet(alice, "my **first** tweet #hello")
    theirs = await make_tweet(bob, "bob speaks")
    r = await client.post(
        f"/tweets/{theirs['tweet_id']}/comments", json={"content": "a reply"}, headers=alice.headers
    )
    assert r.status_code == 201, r.text
    assert (
        await client.post(f"/tweets/{theirs['tweet_id']}/likes", headers=alice.headers)
    ).status_code in (200, 201, 204)
    assert (await client.post(f"/users/{bob.id}/follow", headers=alice.headers)).status_code in (
        200,
        201,
        204,
    )
    assert (await client.post(f"/users/{alice.id}/follow", headers=carol.headers)).status_code in (
        200,
        201,
        204,
    )
    assert (await client.post(f"/users/{carol.id}/mute", headers=alice.headers)).status_code in (
        200,
        201,
        204,
    )
    r = await client.get("/users/me/export", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert z.testzip() is None
    names = set(z.namelist())
    assert names >= {
        "profile.json", "tweets.json", "tweets.md", "replies.json", "likes.json",
        "following.json", "followers.json", "blocks.json", "mutes.json", "index.html", "README.txt",
    }  # fmt: skip
    data = {n: json.loads(z.read(n)) for n in names if n.endswith(".json")}
    assert data["profile.json"]["user_name"] == alice.user_name
    assert "password" not in z.read("profile.json").decode()
    assert [t["markdown"] for t in data["tweets.json"]] == ["my **first** tweet #hello"]
    assert "<strong>first</strong>" in data["tweets.json"][0]["html"]
    assert data["tweets.json"][0]["tweet_id"] == first["tweet_id"]
    assert [t["markdown"] for t in data["replies.json"]] == ["a reply"]
    assert [x["tweet_id"] for x in data["likes.json"]] == [theirs["tweet_id"]]
    assert [x["user_id"] for x in data["following.json"]] == [bob.id]
    assert [x["user_id"] for x in data["followers.json"]] == [carol.id]
    assert [x["user_id"] for x in data["mutes.json"]] == [carol.id]
    assert data["blocks.json"] == []
    assert "Bookmarks" in z.read("README.txt").decode()
    assert "my **first** tweet" in z.read("tweets.md").decode()


async def test_the_export_is_rate_limited_and_needs_a_session(client, make_user):
    alice = await make_user()
    assert (await client.get("/users/me/export")).status_code == 401
    for _ in range(3):
        assert (await client.get("/users/me/export", headers=alice.headers)).status_code == 200
    r = await client.get("/users/me/export", headers=alice.headers)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
