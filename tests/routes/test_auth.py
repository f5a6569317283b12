"""/auth over HTTP: user names, sign-up, e-mail codes, sign-in, refresh rotation, sign-out."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import read_otp


async def signup(client: httpx.AsyncClient, name: str, email: str | None = None, **extra: Any):
    body = {"user_name": name, "email": email or f"{name.lower()}@example.com"}
    body["password"] = "correct horse"
    return await client.post("/auth/user/signup", json={**body, **extra})


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", body["error"]["code"]), body
    code: str = body["error"]["code"]
    return code


# --- user-name availability ---------------------------------------------------------------


async def test_username_availability_free_taken_and_invalid(client, make_user):
    await make_user("Alice")
    r = await client.get("/auth/username-availability", params={"username": "bob_1"})
    assert r.status_code == 200
    assert r.json() == {"username": "bob_1", "available": True, "reason": None}

    r = await client.get("/auth/username-availability", params={"username": "aLiCe"})
    assert r.json()["available"] is False
    assert "taken" in r.json()["reason"]

    for bad in ("ab", "a" * 31, "has space", "dash-name", "émile", "", "x" * 10_000):
        r = await client.get("/auth/username-availability", params={"username": bad})
        assert r.status_code == 200, bad
        assert r.json()["available"] is False, bad
        assert r.json()["reason"], bad


async def test_username_availability_without_the_parameter(client):
    r = await client.get("/auth/username-availability")
    assert r.status_code == 200
    assert r.json()["available"] is False


# --- sign-up -------------------------------------------------------------------------------


async def test_signup_returns_the_private_user_and_mails_a_code(client, settings):
    r = await signup(client, "Carol", user_metadata={"display_name": "Carol C", "bio": "hi"})
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["user_name"] == "Carol"
    assert user["email"] == "carol@example.com"
    assert user["email_verified"] is False
    assert user["user_metadata"] == {
        "display_name": "Carol C",
        "bio": "hi",
        "location": None,
        "website": None,
    }
    assert user["tweet_count"] == user["follower_count"] == user["following_count"] == 0
    assert user["created_at"].endswith("Z")
    assert "password" not in r.text and "argon2" not in r.text
    assert re.fullmatch(r"\d{6}", read_otp(settings.outbox_dir, "carol@example.com"))


async def test_signup_rejects_a_user_name_differing_only_in_case(client):
    assert (await signup(client, "Dave")).status_code == 201
    r = await signup(client, "DAVE", email="other@example.com")
    assert r.status_code == 409
    assert error_code(r) == "user_name_taken"


async def test_a_duplicate_email_in_any_case_creates_nothing_and_says_nothing(client, settings):
    assert (await signup(client, "erin", email="erin@example.com")).status_code == 201
    r = await signup(client, "erin2", email="ERIN@Example.com")
    # Answered like a sign-up (no one learns the address has an account); the owner is told.
    assert r.status_code == 201 and r.json()["user_name"] == "erin2"
    assert r.json()["email_verified"] is False
    r = await client.post("/auth/login", json={"user_name": "erin2", "password": "correct horse"})
    assert r.status_code == 401
    notices = [p for p in settings.outbox_dir.glob("*.eml") if b"already has one" in p.read_bytes()]
    assert len(notices) == 1


async def test_duplicate_name_containing_email_is_reported_as_a_name_clash(client):
    assert (await signup(client, "email_fan", email="one@example.com")).status_code == 201
    r = await signup(client, "Email_Fan", email="two@example.com")
    assert r.status_code == 409
    assert error_code(r) == "user_name_taken"


async def test_signup_bad_input_is_422_and_writes_nothing(client):
    cases = [
        {"user_name": "ab", "email": "a@example.com", "password": "correct horse"},
        {"user_name": "frank", "email": "not-an-email", "password": "correct horse"},
        {"user_name": "frank", "email": "f@example.com", "password": "short"},
        {"user_name": "frank", "email": "f@example.com"},
        {"user_name": "frank", "email": "f@example.com", "password": "correct horse", "admin": 1},
        {"user_name": 5, "email": "f@example.com", "password": "correct horse"},
        {"user_name": None, "email": "f@example.com", "password": "correct horse"},
        {
            "user_name": "frank",
            "email": "f@example.com",
            "password": "correct horse",
            "user_metadata": {"website": "javascript:alert(1)"},
        },
        {"user_name": "frank", "email": "f@example.com", "password": "x", "user_metadata": None},
    ]
    for body in cases:
        r = await client.post("/auth/user/signup", json=body)
        assert r.status_code == 422, (body, r.text)
        assert error_code(r) == "validation_error"
        assert r.json()["error"]["details"], body
    r = await client.get("/auth/username-availability", params={"username": "frank"})
    assert r.json()["available"] is True


async def test_signup_with_non_object_bodies(client):
    for raw in (b"[]", b'"frank"', b"42", b"null", b""):
        r = await client.post(
            "/auth/user/signup", content=raw, headers={"content-type": "application/json"}
        )
        assert r.status_code == 422, (raw, r.text)
        assert error_code(r) == "validation_error"


async def test_signup_malformed_json_wrong_type_and_oversize(client, settings):
    r = await client.post(
        "/auth/user/signup", content=b'{"user_name": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert error_code(r) == "malformed_json"

    r = await client.post("/auth/user/signup", data={"user_name": "frank"})
    assert r.status_code == 415
    assert error_code(r) == "unsupported_media_type"

    big = {"user_name": "frank", "email": "f@example.com", "password": "x" * 100_000}
    r = await client.post("/auth/user/signup", json=big)
    assert r.status_code == 413
    assert error_code(r) == "payload_too_large"


# --- e-mail codes --------------------------------------------------------------------------


async def test_verify_otp_returns_tokens_and_marks_the_email_verified(client, settings):
    await signup(client, "gina")
    code = read_otp(settings.outbox_dir, "gina@example.com")
    r = await client.post("/auth/verify-otp", json={"user_name": "gina", "otp": code})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"]["email_verified"] is True
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email_verified"] is True

    r = await client.post("/auth/verify-otp", json={"user_name": "gina", "otp": code})
    assert r.status_code == 400
    assert error_code(r) == "otp_invalid"  # as for any account without a pending code


async def test_verify_otp_by_email_address(client, settings):
    await signup(client, "hank")
    code = read_otp(settings.outbox_dir, "hank@example.com")
    r = await client.post("/auth/verify-otp", json={"user_name": "HANK@example.com", "otp": code})
    assert r.status_code == 200, r.text


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_five_wrong_codes_lock_the_code_even_for_the_right_one(client, settings):
    await signup(client, "ivan")
    code = read_otp(settings.outbox_dir, "ivan@example.com")
    for left in (4, 3, 2, 1):
        r = await client.post("/auth/verify-otp", json={"user_name": "ivan", "otp": _wrong(code)})
        assert r.status_code == 400
        assert error_code(r) == "otp_invalid"
        assert r.json()["error"]["details"] == [{"attempts_left": left}]
    r = await client.post("/auth/verify-otp", json={"user_name": "ivan", "otp": _wrong(code)})
    assert r.status_code == 403
    assert error_code(r) == "otp_locked"
    r = await client.post("/auth/verify-otp", json={"user_name": "ivan", "otp": code})
    assert r.status_code == 403
    assert error_code(r) == "otp_locked"

    # A fresh code unlocks it.
    assert (await client.post("/auth/resend-otp", json={"user_name": "ivan"})).status_code == 202
    fresh = read_otp(settings.outbox_dir, "ivan@example.com")
    r = await client.post("/auth/verify-otp", json={"user_name": "ivan", "otp": fresh})
    assert r.status_code == 200, r.text


async def test_an_expired_code_is_refused(client, settings, clock):
    await signup(client, "judy")
    code = read_otp(settings.outbox_dir, "judy@example.com")
    clock.advance(seconds=settings.otp_ttl_seconds + 1)
    r = await client.post("/auth/verify-otp", json={"user_name": "judy", "otp": code})
    assert r.status_code == 400
    assert error_code(r) == "otp_invalid"  # like a wrong code: ask for a new one
    assert r.json()["error"]["details"] == []


async def test_a_code_just_inside_its_lifetime_works(client, settings, clock):
    await signup(client, "kate")
    code = read_otp(settings.outbox_dir, "kate@example.com")
    clock.advance(seconds=settings.otp_ttl_seconds - 1)
    r = await client.post("/auth/verify-otp", json={"user_name": "kate", "otp": code})
    assert r.status_code == 200, r.text


async def test_verify_otp_bad_input(client):
    r = await client.post("/auth/verify-otp", json={"user_name": "nobody", "otp": "123456"})
    assert r.status_code == 400
    assert error_code(r) == "otp_invalid"
    for otp in ("12345", "1234567", "abcdef", 123456, None):
        r = await client.post("/auth/verify-otp", json={"user_name": "nobody", "otp": otp})
        assert r.status_code == 422, otp


async def test_resend_otp_new_code_works_old_one_does_not(client, settings):
    await signup(client, "liam")
    old = read_otp(settings.outbox_dir, "liam@example.com")
    r = await client.post("/auth/resend-otp", json={"user_name": "liam"})
    assert r.status_code == 202
    new = read_otp(settings.outbox_dir, "liam@example.com")
    if new != old:  # one chance in a million that the new code equals the old one
        r = await client.post("/auth/verify-otp", json={"user_name": "liam", "otp": old})
        assert r.status_code == 400
        assert error_code(r) == "otp_invalid"
    r = await client.post("/auth/verify-otp", json={"user_name": "liam", "otp": new})
    assert r.status_code == 200, r.text

    r = await client.post("/auth/resend-otp", json={"user_name": "liam"})
    assert r.status_code == 202  # the same answer; nothing is sent


async def test_resend_otp_is_rate_limited_with_retry_after(client, settings):
    await signup(client, "mona")
    allowed = int(settings.rate_limit_otp_resend.split("/")[0])
    for _ in range(allowed):
        assert (
            await client.post("/auth/resend-otp", json={"user_name": "mona"})
        ).status_code == 202
    r = await client.post("/auth/resend-otp", json={"user_name": "mona"})
    assert r.status_code == 429
    assert error_code(r) == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["details"][0]["retry_after"] == int(r.headers["Retry-After"])


async def test_resend_otp_for_an_unknown_account(client):
    r = await client.post("/auth/resend-otp", json={"user_name": "ghost"})
    assert r.status_code == 202 and r.json() == {"sent": True}  # as for a real one


# --- sign-in -------------------------------------------------------------------------------


async def test_login_by_user_name_and_by_email(client, make_user):
    nina = await make_user("Nina")
    for body in (
        {"user_name": "Nina", "password": nina.password},
        {"user_name": "nINA", "password": nina.password},
        {"email": nina.email, "password": nina.password},
        {"email": nina.email.upper(), "password": nina.password},
    ):
        r = await client.post("/auth/login", json=body)
        assert r.status_code == 200, (body, r.text)
        tokens = r.json()
        assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
        assert tokens["user"]["user_id"] == nina.id
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await client.get("/users/me", headers=auth)).status_code == 200


async def test_login_with_a_wrong_password_or_unknown_account(client, make_user):
    olga = await make_user("olga")
    for body in (
        {"user_name": "olga", "password": "wrong password"},
        {"email": olga.email, "password": "wrong password"},
        {"user_name": "nobody_here", "password": "whatever1"},
        {"email": "nobody@example.com", "password": "whatever1"},
    ):
        r = await client.post("/auth/login", json=body)
        assert r.status_code == 401, body
        assert error_code(r) == "invalid_credentials"


async def test_login_needs_exactly_one_identifier(client):
    for body in (
        {"password": "whatever1"},
        {"user_name": "a_b", "email": "a@example.com", "password": "whatever1"},
        {"user_name": "a_b"},
        {"user_name": "a_b", "password": "whatever1", "remember": True},
    ):
        r = await client.post("/auth/login", json=body)
        assert r.status_code == 422, body
        assert error_code(r) == "validation_error"


async def test_login_before_verification_is_403(client):
    await signup(client, "pete")
    r = await client.post("/auth/login", json={"user_name": "pete", "password": "correct horse"})
    assert r.status_code == 403
    assert error_code(r) == "email_not_verified"
    # The wrong password still says only "wrong credentials", whether verified or not.
    r = await client.post("/auth/login", json={"user_name": "pete", "password": "nope nope"})
    assert r.status_code == 401


# --- refresh and sign-out ------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_refresh_rotates_the_pair(client, make_user):
    quinn = await make_user("quinn")
    r = await client.post("/auth/refresh", json={"refresh_token": quinn.refresh_token})
    assert r.status_code == 200, r.text
    pair = r.json()
    assert pair["refresh_token"] != quinn.refresh_token
    assert pair["user"]["user_id"] == quinn.id
    assert (await client.get("/users/me", headers=bearer(pair["access_token"]))).status_code == 200
    # The old access token belongs to the same session and keeps working until it expires.
    assert (await client.get("/users/me", headers=quinn.headers)).status_code == 200
    r = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 200


async def test_a_reused_refresh_token_revokes_its_whole_family(client, make_user):
    rita = await make_user("rita")
    r = await client.post("/auth/refresh", json={"refresh_token": rita.refresh_token})
    new = r.json()

    r = await client.post("/auth/refresh", json={"refresh_token": rita.refresh_token})
    assert r.status_code == 401
    assert error_code(r) == "refresh_token_reused"

    r = await client.post("/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert r.status_code == 401
    for token in (rita.access_token, new["access_token"]):
        r = await client.get("/users/me", headers=bearer(token))
        assert r.status_code == 401
        assert error_code(r) == "session_revoked"


async def test_reuse_in_one_session_leaves_other_sessions_alone(client, make_user):
    sam = await make_user("sam")
    r = await client.post("/auth/login", json={"user_name": "sam", "password": sam.password})
    other = r.json()
    await client.post("/auth/refresh", json={"refresh_token": sam.refresh_token})
    await client.post("/auth/refresh", json={"refresh_token": sam.refresh_token})
    assert (await client.get("/users/me", headers=sam.headers)).status_code == 401
    assert (await client.get("/users/me", headers=bearer(other["access_token"]))).status_code == 200
    r = await client.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert r.status_code == 200


async def test_an_expired_or_unknown_refresh_token_is_401(client, make_user, clock, settings):
    tina = await make_user("tina")
    r = await client.post("/auth/refresh", json={"refresh_token": "not-a-token"})
    assert r.status_code == 401
    assert error_code(r) == "invalid_refresh_token"
    clock.advance(seconds=settings.refresh_token_ttl_seconds + 1)
    r = await client.post("/auth/refresh", json={"refresh_token": tina.refresh_token})
    assert r.status_code == 401
    assert error_code(r) == "invalid_refresh_token"


async def test_refresh_bad_input(client):
    for body in ({}, {"refresh_token": ""}, {"refresh_token": 7}, {"refresh_token": "x" * 600}):
        r = await client.post("/auth/refresh", json=body)
        assert r.status_code == 422, body


async def test_logout_ends_the_session(client, make_user):
    uma = await make_user("uma")
    r = await client.post("/auth/logout", headers=uma.headers)
    assert r.status_code == 204
    assert r.content == b""
    r = await client.get("/users/me", headers=uma.headers)
    assert r.status_code == 401
    assert error_code(r) == "session_revoked"
    r = await client.post("/auth/refresh", json={"refresh_token": uma.refresh_token})
    assert r.status_code == 401
    assert error_code(r) == "session_revoked"
    r = await client.post("/auth/logout", headers=uma.headers)
    assert r.status_code == 401


async def test_logout_ends_only_this_session(client, make_user):
    vic = await make_user("vic")
    r = await client.post("/auth/login", json={"user_name": "vic", "password": vic.password})
    other = r.json()
    assert (await client.post("/auth/logout", headers=vic.headers)).status_code == 204
    assert (await client.get("/users/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_logout_needs_a_token(client):
    r = await client.post("/auth/logout")
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


async def test_signing_in_after_the_clock_moved_on(client, make_user, clock):
    """Tokens are checked against the app's clock, including the time they were issued."""
    wes = await make_user("wes")
    clock.advance(hours=2)
    r = await client.post("/auth/login", json={"user_name": "wes", "password": wes.password})
    assert r.status_code == 200
    r = await client.get("/users/me", headers=bearer(r.json()["access_token"]))
    assert r.status_code == 200, r.text


async def test_logout_body_is_optional_but_checked(client, make_user):
    xena = await make_user("xena")
    r = await client.post("/auth/logout", json={"refresh_token": 5}, headers=xena.headers)
    assert r.status_code == 422
    r = await client.post("/auth/logout", json={"everything": True}, headers=xena.headers)
    assert r.status_code == 422
    assert (await client.get("/users/me", headers=xena.headers)).status_code == 200
    r = await client.post(
        "/auth/logout", json={"refresh_token": xena.refresh_token}, headers=xena.headers
    )
    assert r.status_code == 204
    assert (await client.get("/users/me", headers=xena.headers)).status_code == 401
