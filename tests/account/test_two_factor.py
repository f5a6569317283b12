"""Two-factor sign-in with TOTP on a fixed clock: the window, single use, recovery codes,
the challenge's limits, and no way around the second step (refresh, GitHub)."""

from __future__ import annotations

from typing import Any

import pyotp

from tests.account.helpers import bearer, sign_in, subjects


def code_at(secret: str, clock: Any, seconds: float = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now.timestamp() + seconds)


async def enable_2fa(client, user, clock) -> tuple[str, list[str]]:
    """Set up and enable 2FA for ``user``; (secret, recovery codes). Moves the clock on a
    step, so the enabling code is not the one the next sign-in needs."""
    r = await client.post("/users/me/2fa/setup", headers=user.headers)
    assert r.status_code == 200, r.text
    setup = r.json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    assert setup["secret"] in setup["otpauth_uri"]
    assert setup["qr_svg"].startswith("data:image/svg+xml")
    secret = setup["secret"]
    r = await client.post(
        "/users/me/2fa/enable", json={"code": code_at(secret, clock)}, headers=user.headers
    )
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    clock.advance(seconds=30)
    return secret, codes


async def challenge_of(client, user) -> str:
    r = await sign_in(client, user)
    assert r.status_code == 401, r.text
    error = r.json()["error"]
    assert error["code"] == "second_factor_required"
    challenge: str = error["details"][0]["challenge"]
    return challenge


async def second_step(client, challenge: str, **body: str):
    return await client.post("/auth/login/2fa", json={"challenge": challenge, **body})


async def test_sign_in_needs_the_code_and_then_gives_tokens(client, make_user, clock):
    alice = await make_user()
    secret, _ = await enable_2fa(client, alice, clock)
    r = await sign_in(client, alice)
    assert "access_token" not in r.text and "refresh_token" not in r.text
    challenge = r.json()["error"]["details"][0]["challenge"]
    # The challenge is no refresh token: the only way on is the second step.
    r = await client.post("/auth/refresh", json={"refresh_token": challenge})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_refresh_token"
    r = await second_step(client, challenge, code=code_at(secret, clock))
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["user"]["two_factor_enabled"] is True
    assert (
        await client.get("/users/me", headers=bearer(tokens["access_token"]))
    ).status_code == 200
    r = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200
    # The challenge was used up.
    r = await second_step(client, challenge, code=code_at(secret, clock, 30))
    assert r.status_code == 401 and r.json()["error"]["code"] == "challenge_invalid"


async def test_codes_count_one_step_either_side_and_no_further(client, make_user, clock):
    alice = await make_user()
    secret, _ = await enable_2fa(client, alice, clock)
    for offset, ok in [(-60, False), (90, False), (-30, True), (30, True)]:
        challenge = await challenge_of(client, alice)
        r = await second_step(client, challenge, code=code_at(secret, clock, offset))
        assert (r.status_code == 200) is ok, (offset, r.text)
        clock.advance(seconds=60)  # the next round's steps are all unused


async def test_a_code_works_once_even_within_its_window(client, make_user, clock):
    alice = await make_user()
    secret, _ = await enable_2fa(client, alice, clock)
    code = code_at(secret, clock)
    assert (
        await second_step(client, await challenge_of(client, alice), code=code)
    ).status_code == 200
    r = await second_step(client, await challenge_of(client, alice), code=code)
    assert r.status_code == 401 and r.json()["error"]["code"] == "second_factor_invalid"
    # An earlier step than the one used is refused too (it would be a replay).
    r = await second_step(
        client, await challenge_of(client, alice), code=code_at(secret, clock, -30)
    )
    assert r.status_code == 401
    clock.advance(seconds=30)
    r = await second_step(client, await challenge_of(client, alice), code=code_at(secret, clock))
    assert r.status_code == 200


async def test_recovery_codes_work_once_each(client, make_user, clock):
    alice = await make_user()
    _, codes = await enable_2fa(client, alice, clock)
    r = await second_step(client, await challenge_of(client, alice), recovery_code=codes[0])
    assert r.status_code == 200, r.text
    r = await second_step(client, await challenge_of(client, alice), recovery_code=codes[0])
    assert r.status_code == 401 and r.json()["error"]["code"] == "second_factor_invalid"
    spaced = codes[1].upper().replace("-", " ")
    r = await second_step(client, await challenge_of(client, alice), recovery_code=spaced)
    assert r.status_code == 200


async def test_a_challenge_allows_five_tries_and_expires(client, make_user, clock):
    alice = await make_user()
    secret, _ = await enable_2fa(client, alice, clock)
    challenge = await challenge_of(client, alice)
    left = []
    for _ in range(5):
        r = await second_step(client, challenge, code="000000")
        left.append(r.json()["error"]["details"][0]["attempts_left"])
    assert left == [4, 3, 2, 1, 0]
    r = await second_step(client, challenge, code=code_at(secret, clock))
    assert r.status_code == 401 and r.json()["error"]["code"] == "challenge_invalid"
    challenge = await challenge_of(client, alice)
    clock.advance(minutes=5, seconds=1)
    r = await second_step(client, challenge, code=code_at(secret, clock))
    assert r.status_code == 401 and r.json()["error"]["code"] == "challenge_invalid"


async def test_the_second_step_is_rate_limited_per_account(client, make_user, clock):
    alice = await make_user()
    await enable_2fa(client, alice, clock)
    statuses = []
    for _ in range(5):  # four challenges, five tries each: 20/hour per account
        challenge = await challenge_of(client, alice)
        for _ in range(5):
            statuses.append((await second_step(client, challenge, code="000000")).status_code)
    assert statuses.count(401) == 20 and statuses[-1] == 429


async def test_bad_input_and_forged_challenges_are_4xx(client, make_user, clock):
    alice = await make_user()
    secret, _ = await enable_2fa(client, alice, clock)
    challenge = await challenge_of(client, alice)
    for body in ({}, {"code": "12"}, {"code": "123456", "recovery_code": "abcde-12345"}):
        r = await client.post("/auth/login/2fa", json={"challenge": challenge, **body})
        assert r.status_code == 422, (body, r.text)
    r = await second_step(client, "forged", code=code_at(secret, clock))
    assert r.status_code == 401 and r.json()["error"]["code"] == "challenge_invalid"


async def test_enable_and_disable_need_the_right_codes(client, make_user, clock, settings):
    alice = await make_user()
    r = await client.post("/users/me/2fa/enable", json={"code": "123456"}, headers=alice.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "two_factor_not_set_up"
    r = await client.post("/users/me/2fa/setup", headers=alice.headers)
    secret = r.json()["secret"]
    r = await client.post(
        "/users/me/2fa/enable", json={"code": code_at(secret, clock, 120)}, headers=alice.headers
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "second_factor_invalid"
    assert (await sign_in(client, alice)).status_code == 200  # still off
    r = await client.post(
        "/users/me/2fa/enable", json={"code": code_at(secret, clock)}, headers=alice.headers
    )
    assert r.status_code == 200
    r = await client.post("/users/me/2fa/setup", headers=alice.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "two_factor_enabled"
    clock.advance(seconds=30)
    bad = {"password": "not the password", "code": code_at(secret, clock)}
    r = await client.post("/users/me/2fa/disable", json=bad, headers=alice.headers)
    assert r.status_code == 401
    good = {"password": alice.password, "code": code_at(secret, clock)}
    r = await client.post("/users/me/2fa/disable", json=good, headers=alice.headers)
    assert r.status_code == 204, r.text
    r = await sign_in(client, alice)
    assert r.status_code == 200 and r.json()["user"]["two_factor_enabled"] is False
    sent = subjects(settings.outbox_dir, alice.email)
    assert {"Two-factor sign-in was turned on", "Two-factor sign-in was turned off"} <= set(sent)


async def test_sessions_from_before_2fa_keep_working_but_new_ones_need_it(client, make_user, clock):
    alice = await make_user()
    await enable_2fa(client, alice, clock)
    assert (await client.get("/users/me", headers=alice.headers)).status_code == 200
    r = await client.post("/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert r.status_code == 200  # the session that enabled it
    r = await client.post("/auth/refresh", json={"refresh_token": "not-one-we-issued"})
    assert r.status_code == 401
