"""Changing the password (other sessions end) and the e-mail address (only once the new
address is confirmed; the old one is told; taken addresses answer the same); the policy."""

from __future__ import annotations

from tests.account.helpers import bearer, sign_in, subjects
from tests.conftest import read_otp

NEW = "a brand new passphrase"


async def test_changing_the_password_ends_every_other_session(client, make_user, settings):
    alice = await make_user()
    other = (await sign_in(client, alice)).json()
    body = {"current_password": alice.password, "new_password": NEW}
    r = await client.post("/users/me/password", json=body, headers=alice.headers)
    assert r.status_code == 204, r.text
    assert (await client.get("/users/me", headers=alice.headers)).status_code == 200
    r = await client.get("/users/me", headers=bearer(other["access_token"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"
    r = await client.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert r.status_code == 401
    assert (await sign_in(client, alice, NEW)).status_code == 200
    assert "Your Murmur password was changed" in subjects(settings.outbox_dir, alice.email)


async def test_a_wrong_current_password_or_a_weak_new_one_is_refused(client, make_user):
    alice = await make_user()
    cases = [
        ({"current_password": "not it", "new_password": NEW}, 401, "invalid_credentials"),
        ({"current_password": alice.password, "new_password": "iloveyou1"}, 422, "password_common"),
        ({"current_password": alice.password, "new_password": "PASSWORD1"}, 422, "password_common"),
        (
            {"current_password": alice.password, "new_password": alice.user_name.upper()},
            422,
            "password_contains_user_name",
        ),
        ({"current_password": alice.password}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        r = await client.post("/users/me/password", json=body, headers=alice.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert (await sign_in(client, alice)).status_code == 200


async def test_sign_up_applies_the_password_policy(client):
    for password, code in [
        ("qwerty123", "password_common"),
        ("x_bob_x_pw", "password_contains_user_name"),
    ]:
        body = {"user_name": "bob", "email": "bob@example.com", "password": password}
        r = await client.post("/auth/user/signup", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text


async def test_the_address_changes_only_after_the_new_one_is_confirmed(client, make_user, settings):
    alice = await make_user()
    body = {"new_email": "alice.new@example.com", "current_password": alice.password}
    r = await client.post("/users/me/email", json=body, headers=alice.headers)
    assert r.status_code == 202 and r.json() == {"sent": True}
    me = (await client.get("/users/me", headers=alice.headers)).json()
    assert me["email"] == alice.email  # not yet
    code = read_otp(settings.outbox_dir, "alice.new@example.com")
    wrong = "000000" if code != "000000" else "111111"
    r = await client.post("/users/me/email/verify", json={"code": wrong}, headers=alice.headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "otp_invalid"
    r = await client.post("/users/me/email/verify", json={"code": code}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["email"] == "alice.new@example.com"
    assert "Your Murmur e-mail address was changed" in subjects(settings.outbox_dir, alice.email)
    r = await client.post(
        "/auth/login", json={"email": "alice.new@example.com", "password": alice.password}
    )
    assert r.status_code == 200
    r = await client.post("/users/me/email/verify", json={"code": code}, headers=alice.headers)
    assert r.status_code == 403  # used


async def test_a_taken_address_answers_the_same_and_its_owner_is_told(client, make_user, settings):
    alice, bob = await make_user(), await make_user()
    free = {"new_email": "free@example.com", "current_password": alice.password}
    taken = {"new_email": bob.email, "current_password": alice.password}
    r1 = await client.post("/users/me/email", json=free, headers=alice.headers)
    r2 = await client.post("/users/me/email", json=taken, headers=alice.headers)
    assert (r1.status_code, r1.content) == (r2.status_code, r2.content) == (202, b'{"sent": true}')
    assert "Someone tried to move a Murmur account to your address" in subjects(
        settings.outbox_dir, bob.email
    )
    # The pending change is still the free address's; bob's address was never on offer.
    r = await client.post("/users/me/email/verify", json={"code": "123456"}, headers=alice.headers)
    assert r.status_code in (400, 403)
    assert (await client.get("/users/me", headers=alice.headers)).json()["email"] == alice.email


async def test_the_code_has_five_tries_and_expires(client, make_user, settings, clock):
    alice = await make_user()
    body = {"new_email": "alice2@example.com", "current_password": alice.password}
    await client.post("/users/me/email", json=body, headers=alice.headers)
    code = read_otp(settings.outbox_dir, "alice2@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        await client.post("/users/me/email/verify", json={"code": wrong}, headers=alice.headers)
    r = await client.post("/users/me/email/verify", json={"code": code}, headers=alice.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "otp_locked"
    await client.post("/users/me/email", json=body, headers=alice.headers)
    code = read_otp(settings.outbox_dir, "alice2@example.com")
    clock.advance(hours=1, seconds=1)
    fresh = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    headers = bearer(fresh.json()["access_token"])  # the access token expired meanwhile
    r = await client.post("/users/me/email/verify", json={"code": code}, headers=headers)
    assert r.status_code == 403


async def test_changing_the_address_needs_the_password(client, make_user, settings):
    alice = await make_user()
    body = {"new_email": "elsewhere@example.com", "current_password": "not it"}
    r = await client.post("/users/me/email", json=body, headers=alice.headers)
    assert r.status_code == 401
    assert not subjects(settings.outbox_dir, "elsewhere@example.com")
    r = await client.post(
        "/users/me/email",
        json={"new_email": "nope", "current_password": "x"},
        headers=alice.headers,
    )
    assert r.status_code == 422
