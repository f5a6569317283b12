"""Forgotten passwords: the link, its single use and expiry, no enumeration, rate limits."""

from __future__ import annotations

from tests.account.helpers import reset_token, sign_in, subjects

NEW = "a brand new passphrase"


async def forgot(client, **body):
    return await client.post("/auth/password/forgot", json=body)


async def test_a_reset_link_sets_the_password_and_ends_every_session(client, make_user, settings):
    alice = await make_user()
    r = await forgot(client, user_name=alice.user_name)
    assert r.status_code == 202 and r.content == b'{"sent": true}'  # as resend-otp answers
    token = reset_token(settings.outbox_dir, alice.email)
    r = await client.post("/auth/password/reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 204, r.text
    # Every session ended: the access token and the refresh token both stop working.
    r = await client.get("/users/me", headers=alice.headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"
    r = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert r.status_code == 401
    assert (await sign_in(client, alice)).status_code == 401
    assert (await sign_in(client, alice, NEW)).status_code == 200
    assert "Your Murmur password was changed" in subjects(settings.outbox_dir, alice.email)


async def test_the_link_works_once(client, make_user, settings):
    alice = await make_user()
    await forgot(client, email=alice.email)
    token = reset_token(settings.outbox_dir, alice.email)
    body = {"token": token, "new_password": NEW}
    assert (await client.post("/auth/password/reset", json=body)).status_code == 204
    r = await client.post("/auth/password/reset", json={**body, "new_password": NEW + "!"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "reset_token_invalid"
    assert (await sign_in(client, alice, NEW)).status_code == 200


async def test_the_link_expires_after_30_minutes(client, make_user, settings, clock):
    alice = await make_user()
    await forgot(client, user_name=alice.user_name)
    token = reset_token(settings.outbox_dir, alice.email)
    clock.advance(minutes=30, seconds=1)
    r = await client.post("/auth/password/reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 400 and r.json()["error"]["code"] == "reset_token_invalid"
    assert (await sign_in(client, alice)).status_code == 200


async def test_a_forged_token_and_a_weak_password_are_refused(client, make_user, settings):
    alice = await make_user()
    r = await client.post("/auth/password/reset", json={"token": "x" * 43, "new_password": NEW})
    assert r.status_code == 400 and r.json()["error"]["code"] == "reset_token_invalid"
    await forgot(client, user_name=alice.user_name)
    token = reset_token(settings.outbox_dir, alice.email)
    for weak, code in [
        ("password123", "password_common"),
        (f"my {alice.user_name} pw", "password_contains_user_name"),
        ("short", "password_length"),
    ]:
        r = await client.post("/auth/password/reset", json={"token": token, "new_password": weak})
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    # A refused password does not use the link up.
    r = await client.post("/auth/password/reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 204


async def test_the_answer_is_the_same_for_accounts_that_do_not_exist(client, make_user, settings):
    alice = await make_user()
    answers = []
    for body in (
        {"user_name": alice.user_name},
        {"user_name": "nobody_at_all"},
        {"email": alice.email},
        {"email": "nobody@example.com"},
    ):
        r = await forgot(client, **body)
        headers = {k: v for k, v in r.headers.items() if k not in ("x-request-id", "date")}
        answers.append((r.status_code, r.content, headers))
    assert all(a == answers[0] for a in answers), answers
    assert not subjects(settings.outbox_dir, "nobody@example.com")


async def test_a_pending_account_gets_no_link(client, settings):
    body = {"user_name": "pending_pat", "email": "pat@example.com", "password": NEW}
    assert (await client.post("/auth/user/signup", json=body)).status_code == 201
    assert (await forgot(client, user_name="pending_pat")).status_code == 202
    assert "Reset your Murmur password" not in subjects(settings.outbox_dir, "pat@example.com")


async def test_asking_and_redeeming_are_rate_limited(client, make_user, settings):
    alice = await make_user()
    for _ in range(5):  # RATE_LIMIT_PASSWORD_FORGOT: 5/hour per name or address given
        assert (await forgot(client, user_name=alice.user_name)).status_code == 202
    for who in (alice.user_name, alice.user_name.upper()):
        r = await forgot(client, user_name=who)
        assert r.status_code == 429 and "Retry-After" in r.headers
    # The same limit for a name nobody has: the 429 tells nothing either.
    for _ in range(5):
        assert (await forgot(client, user_name="ghost_user")).status_code == 202
    assert (await forgot(client, user_name="ghost_user")).status_code == 429
    for _ in range(30):  # RATE_LIMIT_PASSWORD_RESET_ADDRESS: 30/hour, for any token
        await client.post("/auth/password/reset", json={"token": "bad", "new_password": NEW})
    r = await client.post("/auth/password/reset", json={"token": "bad", "new_password": NEW})
    assert r.status_code == 429


async def test_the_account_limit_holds_across_its_name_and_address(client, make_user, settings):
    alice = await make_user()
    for i in range(8):
        body = {"user_name": alice.user_name} if i % 2 else {"email": alice.email}
        assert (await forgot(client, **body)).status_code == 202
    links = [s for s in subjects(settings.outbox_dir, alice.email) if s.startswith("Reset")]
    assert len(links) == 5  # per account, however it was named


async def test_signing_in_with_a_reset_password_still_needs_the_second_factor(
    client, make_user, settings, clock
):
    from tests.account.test_two_factor import enable_2fa

    alice = await make_user()
    await enable_2fa(client, alice, clock)
    await forgot(client, user_name=alice.user_name)
    token = reset_token(settings.outbox_dir, alice.email)
    assert (
        await client.post("/auth/password/reset", json={"token": token, "new_password": NEW})
    ).status_code == 204
    r = await sign_in(client, alice, NEW)
    assert r.status_code == 401 and r.json()["error"]["code"] == "second_factor_required"
