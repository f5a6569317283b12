"""/users over HTTP: profiles by id and by name, the signed-in user, profile edits."""

from __future__ import annotations

from .test_auth import error_code


async def test_me_needs_a_token_and_shows_private_fields(client, make_user):
    r = await client.get("/users/me")
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"

    alice = await make_user("Alice")
    r = await client.get("/users/me", headers=alice.headers)
    assert r.status_code == 200
    me = r.json()
    assert me["user_id"] == alice.id
    assert me["email"] == alice.email
    assert me["email_verified"] is True
    assert me["role"] == "user"


async def test_public_profile_by_id_hides_private_fields(client, make_user, make_tweet):
    bob = await make_user("Bob")
    await make_tweet(bob, "one")
    await make_tweet(bob, "two")
    r = await client.get(f"/users/{bob.id}")
    assert r.status_code == 200
    user = r.json()
    assert user["user_name"] == "Bob"
    assert user["tweet_count"] == 2
    assert user["follower_count"] == 0 and user["following_count"] == 0
    assert "email" not in user and "email_verified" not in user
    assert "password_hash" not in r.text


async def test_profile_by_id_bad_and_unknown_ids_are_404(client):
    for user_id in ("nope", "0" * 24, "f" * 25, "zzzzzzzzzzzzzzzzzzzzzzzz", "%20", "x" * 5000):
        r = await client.get(f"/users/{user_id}")
        assert r.status_code == 404, user_id
        assert error_code(r) == "user_not_found"


async def test_profile_by_name_is_case_insensitive(client, make_user):
    carol = await make_user("CaRoL_9")
    for name in ("CaRoL_9", "carol_9", "CAROL_9"):
        r = await client.get(f"/users/by-name/{name}")
        assert r.status_code == 200, name
        assert r.json()["user_id"] == carol.id
        assert r.json()["user_name"] == "CaRoL_9"
        assert "email" not in r.json()
    for name in ("carol_", "nobody", "x" * 5000, "a.b"):
        r = await client.get(f"/users/by-name/{name}")
        assert r.status_code == 404
        assert error_code(r) == "user_not_found"


async def test_patch_me_sets_and_clears_fields(client, make_user):
    erin = await make_user("erin")
    r = await client.patch(
        "/users/me",
        json={
            "display_name": "  Erin E  ",
            "bio": "I write **things**",
            "location": "Lyon",
            "website": "https://erin.example/",
        },
        headers=erin.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["user_metadata"] == {
        "display_name": "Erin E",
        "bio": "I write **things**",
        "location": "Lyon",
        "website": "https://erin.example/",
    }
    # Only the fields sent change; null clears one.
    r = await client.patch(
        "/users/me", json={"bio": None, "location": "Paris"}, headers=erin.headers
    )
    assert r.status_code == 200
    meta = r.json()["user_metadata"]
    assert meta == {
        "display_name": "Erin E",
        "bio": None,
        "location": "Paris",
        "website": "https://erin.example/",
    }
    r = await client.get(f"/users/{erin.id}")
    assert r.json()["user_metadata"] == meta
    # An empty patch changes nothing.
    r = await client.patch("/users/me", json={}, headers=erin.headers)
    assert r.status_code == 200
    assert r.json()["user_metadata"] == meta


async def test_patch_me_bad_input(client, make_user):
    fay = await make_user("fay")
    await client.patch("/users/me", json={"bio": "before"}, headers=fay.headers)
    cases = [
        {"website": "javascript:alert(1)"},
        {"website": "erin.example"},
        {"website": "https://has space.example"},
        {"bio": "x" * 161},
        {"display_name": "x" * 51},
        {"bio": 5},
        {"bio": ["a"]},
        {"user_name": "taken_over"},
        {"email": "x@example.com"},
        {"bio": "ok", "role": "admin"},
    ]
    for body in cases:
        r = await client.patch("/users/me", json=body, headers=fay.headers)
        assert r.status_code == 422, (body, r.text)
        assert error_code(r) == "validation_error"
    for raw in (b"[]", b"null", b"3", b'"bio"'):
        r = await client.patch(
            "/users/me",
            content=raw,
            headers={**fay.headers, "content-type": "application/json"},
        )
        assert r.status_code == 422, raw
    r = await client.patch(
        "/users/me",
        content=b"{bio:",
        headers={**fay.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert error_code(r) == "malformed_json"
    r = await client.patch("/users/me", content=b"bio=x", headers=fay.headers)
    assert r.status_code == 415
    r = await client.patch("/users/me", json={"bio": "x" * 100_000}, headers=fay.headers)
    assert r.status_code == 413
    # Nothing was half-written.
    me = (await client.get("/users/me", headers=fay.headers)).json()
    assert me["user_metadata"]["bio"] == "before"
    assert me["user_name"] == "fay" and me["role"] == "user"


async def test_patch_me_needs_a_token(client):
    r = await client.patch("/users/me", json={"bio": "x"})
    assert r.status_code == 401
