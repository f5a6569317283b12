"""Signing in with GitHub to an account with 2FA on ends in the same challenge."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.account.test_two_factor import code_at, enable_2fa, second_step
from tests.routes import test_oauth
from tests.routes.test_oauth import authorize, callback

# The GitHub-like provider and the settings that point Murmur at it, as the OAuth tests use.
github = test_oauth.github
settings = test_oauth.settings


async def test_github_sign_in_does_not_skip_the_second_factor(client, make_user, github, clock):
    alice = await make_user("alice")
    github.emails = [{"email": alice.email, "primary": True, "verified": True}]
    secret, _ = await enable_2fa(client, alice, clock)
    r = await callback(client, await authorize(client))
    assert r.status_code == 401, r.text
    error = r.json()["error"]
    assert error["code"] == "second_factor_required" and "access_token" not in r.text
    r = await second_step(client, error["details"][0]["challenge"], code=code_at(secret, clock))
    assert r.status_code == 200 and r.json()["user"]["user_id"] == alice.id


async def test_a_browser_is_sent_to_the_sign_in_page_with_the_challenge(
    client, make_user, github, clock
):
    alice = await make_user("alice")
    github.emails = [{"email": alice.email, "primary": True, "verified": True}]
    await enable_2fa(client, alice, clock)
    params = await authorize(client, mode="web")
    r = await client.get(
        "/auth/oauth/github/callback", params=params, headers={"Accept": "text/html"}
    )
    assert r.status_code == 302
    where = urlsplit(r.headers["location"])
    fragment = parse_qs(where.fragment)
    assert where.path == "/login" and fragment["oauth_error"] == ["second_factor_required"]
    assert fragment["challenge"][0] and "access_token" not in r.headers["location"]
