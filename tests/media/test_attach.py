"""Attaching images to tweets: the rules, and what removes them (tweet or account deleted,
never attached, a compose cut short)."""

from __future__ import annotations

from typing import Any

import httpx
from bson import ObjectId

from server import media
from server.store import media as media_store
from tests.media.conftest import image_bytes, upload


async def _uploads(client: httpx.AsyncClient, user: Any, n: int, alt: str = "") -> list[str]:
    ids = []
    for i in range(n):
        r = await upload(client, user, image_bytes("PNG", (10 + i, 10)), alt=alt or None)
        assert r.status_code == 201, r.text
        ids.append(r.json()["media_id"])
    return ids


async def _post(
    client: httpx.AsyncClient, user: Any, media_ids: list[str], **headers: str
) -> httpx.Response:
    return await client.post(
        "/tweets",
        json={"content": "look at this", "media_ids": media_ids},
        headers={**user.headers, **headers},
    )


async def _states(app: Any, ids: list[str]) -> list[str | None]:
    docs = {d["_id"]: d for d in await media_store.find(app.state.services.db, media_ids=ids)}
    return [docs[i]["state"] if i in docs else None for i in ids]


async def _files(app: Any) -> int:
    return int(await app.state.services.db["images.files"].count_documents({}))


async def test_a_tweet_carries_its_images_everywhere(
    app: Any, client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    ids = await _uploads(client, alice, 2, alt="A red and blue flag")
    r = await _post(client, alice, ids)
    assert r.status_code == 201, r.text
    tweet = r.json()
    assert [m["media_id"] for m in tweet["media"]] == ids  # in the order given
    first = tweet["media"][0]
    assert first == {
        "media_id": ids[0], "url": f"/media/{ids[0]}/original",
        "preview_url": f"/media/{ids[0]}/preview", "width": 10, "height": 10,
        "alt": "A red and blue flag",
    }  # fmt: skip
    assert await _states(app, ids) == ["attached", "attached"]  # by the outbox worker
    got = (await client.get(f"/tweets/{tweet['tweet_id']}")).json()
    assert got["media"] == tweet["media"]
    listed = (await client.get(f"/users/{alice.id}/tweets")).json()["items"][0]
    assert listed["media"] == tweet["media"]
    # Attached images keep the alt text the tweet copied.
    r = await client.patch(f"/media/{ids[0]}", json={"alt": "x"}, headers=alice.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "media_already_attached"
    # A tweet without images has an empty list.
    plain = await client.post("/tweets", json={"content": "words"}, headers=alice.headers)
    assert plain.json()["media"] == []


async def test_attach_rules(app: Any, client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    mine = await _uploads(client, alice, 5)
    (theirs,) = await _uploads(client, bob, 1)
    cases = [
        ([mine[0], theirs], 403, "media_not_yours"),
        (mine, 422, "validation_error"),  # five
        ([mine[0], mine[0]], 422, "invalid_media_ids"),
        ([mine[0], "AAAAAAAAAAAAAAAAAAAAAA"], 404, "media_not_found"),
        ([mine[0], "bad id"], 404, "media_not_found"),
    ]
    for ids, status, code in cases:
        r = await _post(client, alice, ids)
        assert r.status_code == status, (ids, r.text)
        assert r.json()["error"]["code"] == code
        # Nothing was claimed, nothing posted: the uploads are free for the next try.
        assert set(await _states(app, mine)) == {"uploaded"}
    assert (await client.get(f"/users/{alice.id}/tweets")).json()["items"] == []
    assert (await _post(client, alice, mine[:4])).status_code == 201
    r = await _post(client, alice, [mine[3], mine[4]])
    assert r.status_code == 409 and r.json()["error"]["code"] == "media_already_attached"
    assert await _states(app, [mine[4]]) == ["uploaded"]
    r = await _post(client, bob, [mine[4]])
    assert r.status_code == 403


async def test_a_retried_post_returns_the_first_tweet(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    ids = await _uploads(client, alice, 1)
    first = await _post(client, alice, ids, **{"Idempotency-Key": "k1"})
    again = await _post(client, alice, ids, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["tweet_id"] == first.json()["tweet_id"]


async def test_deleting_the_tweet_removes_its_files(
    app: Any, client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    ids = await _uploads(client, alice, 2)
    (kept,) = await _uploads(client, alice, 1)
    tweet = (await _post(client, alice, ids)).json()
    assert await _files(app) == 6
    r = await client.delete(f"/tweets/{tweet['tweet_id']}", headers=alice.headers)
    assert r.status_code == 204
    assert await _states(app, [*ids, kept]) == [None, None, "uploaded"]
    assert await _files(app) == 2
    assert (await client.get(f"/media/{ids[0]}/original")).status_code == 404
    assert (await client.get(f"/media/{kept}/preview")).status_code == 200
    # The delete effect runs again harmlessly (a worker killed after it re-runs the round).
    await media.remove_for_tweets(app.state.services, [tweet["tweet_id"]])
    assert await _files(app) == 2


async def test_sweep_removes_old_unattached_uploads(
    app: Any, client: httpx.AsyncClient, make_user: Any, clock: Any
) -> None:
    alice = await make_user()
    old, attached = await _uploads(client, alice, 2)
    assert (await _post(client, alice, [attached])).status_code == 201
    svc = app.state.services
    clock.advance(hours=23)
    (young,) = await _uploads(client, await make_user(), 1)  # alice's token has expired
    assert await media.sweep(svc, clock()) == 0  # nothing is a day old yet
    clock.advance(hours=2)
    assert await media.sweep(svc, clock()) == 1
    assert await _states(app, [old, attached, young]) == [None, "attached", "uploaded"]
    assert await _files(app) == 4


async def test_a_claim_cut_short_is_given_back(
    app: Any, client: httpx.AsyncClient, make_user: Any, clock: Any
) -> None:
    alice = await make_user()
    ids = await _uploads(client, alice, 2)
    svc = app.state.services
    # A compose that claimed and then died before inserting its tweet.
    lost = str(ObjectId())
    claimed = await media_store.claim(
        svc.db, media_ids=ids[:1], owner=alice.id, tweet_id=lost, now=clock()
    )
    assert claimed == 1
    # A claim whose tweet exists (pending or not) is the tweet's, however old.
    posted = (await _post(client, alice, ids[1:])).json()
    await svc.db.media.update_one({"_id": ids[1]}, {"$set": {"state": "claimed"}})
    await media.sweep(svc, clock())
    assert await _states(app, ids) == ["claimed", "claimed"]  # too recent to judge
    clock.advance(minutes=11)
    await media.sweep(svc, clock())
    assert await _states(app, ids) == ["uploaded", "claimed"]
    assert (await _post(client, alice, ids[:1])).status_code == 201
    assert posted["media"][0]["media_id"] == ids[1]


async def test_account_deletion_removes_every_image(
    app: Any, client: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    ids = await _uploads(client, alice, 2)
    await _post(client, alice, ids[:1])
    (bobs,) = await _uploads(client, bob, 1)
    r = await client.request(
        "DELETE", "/users/me", json={"password": alice.password}, headers=alice.headers
    )
    assert r.status_code == 204
    assert await _states(app, [*ids, bobs]) == [None, None, "uploaded"]
    assert await _files(app) == 2


async def test_a_hidden_tweets_images_are_not_served_until_restored(
    app: Any, client: httpx.AsyncClient, make_user: Any, settings: Any
) -> None:
    settings.admin_emails = ["boss@example.com"]
    boss, alice = await make_user("boss"), await make_user()
    ids = await _uploads(client, alice, 1)
    tweet = (await _post(client, alice, ids)).json()
    urls = [tweet["media"][0]["url"], tweet["media"][0]["preview_url"]]
    assert [(await client.get(u)).status_code for u in urls] == [200, 200]
    hide = f"/moderation/tweets/{tweet['tweet_id']}/hide"
    assert (await client.post(hide, headers=boss.headers)).status_code == 200
    for u in urls:  # what a moderator hid is not handed out by its image URL either
        r = await client.get(u)
        assert r.status_code == 404 and r.json()["error"]["code"] == "media_not_found"
    restore = f"/moderation/tweets/{tweet['tweet_id']}/restore"
    assert (await client.post(restore, headers=boss.headers)).status_code == 200
    assert [(await client.get(u)).status_code for u in urls] == [200, 200]
