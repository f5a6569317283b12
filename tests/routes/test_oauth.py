"""Sign in with GitHub, end to end against a local GitHub-like provider (real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from server.settings import Settings
from tests.oauth_provider import CLIENT_ID, CLIENT_SECRET, FakeGitHub


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    provider = FakeGitHub().start()
    yield provider
    provider.stop()


@pytest.fixture
def settings(settings: Settings, github: FakeGitHub) -> Settings:
    github.deny = False
    github.profile = {"id": 4242, "login": "octo-cat", "name": "Octo Cat"}
    github.emails = [{"email": "octo@example.com", "primary": True, "verified": True}]
    return settings.model_copy(
        update={
            "public_base_url": "http://murmur.test",
            "github_client_id": CLIENT_ID,
            "github_client_secret": CLIENT_SECRET,
            "github_authorize_url": f"{github.base}/login/oauth/authorize",
            "github_token_url": f"{github.base}/login/oauth/access_token",
            "github_api_url": f"{github.base}/api",
        }
    )


async def authorize(client: httpx.AsyncClient, mode: str = "json") -> dict[str, str]:
    """Start sign-in, follow the browser to the provider; the callback's query parameters."""
    params = {"mode": mode, **({"nonce": "n" * 22} if mode == "web" else {})}
    r = await client.get("/auth/oauth/github/start", params=params)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    q = parse_qs(urlsplit(location).query)
    assert q["code_challenge_method"] == ["S256"] and q["code_challenge"][0]
    assert q["redirect_uri"] == ["http://murmur.test/auth/oauth/github/callback"]
    assert q["state"][0]
    async with httpx.AsyncClient() as browser:
        r = await browser.get(location)
    assert r.status_code in (302, 307), r.text
    back = urlsplit(r.headers["location"])
    assert back.path == "/auth/oauth/github/callback"
    return {k: v[0] for k, v in parse_qs(back.query).items()}


async def callback(client: httpx.AsyncClient, params: dict[str, str]) -> httpx.Response:
    return await client.get("/auth/oauth/github/callback", params=params)


async def test_the_full_flow_creates_a_verified_account(client):
    r = await callback(client, await authorize(client))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["user_name"] == "octo_cat"
    assert body["user"]["email_verified"] is True
    assert body["user"]["user_metadata"]["display_name"] == "Octo Cat"
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "octo@example.com"
    # Signing in again finds the same account by its GitHub id.
    again = await callback(client, await authorize(client))
    assert again.json()["user"]["user_id"] == body["user"]["user_id"]
    r = await client.post("/auth/refresh", json={"refresh_token": again.json()["refresh_token"]})
    assert r.status_code == 200


async def test_a_verified_email_links_the_existing_account(client, make_user, github):
    alice = await make_user("alice")
    github.emails = [
        {"email": "other@example.com", "primary": False, "verified": False},
        {"email": alice.email, "primary": True, "verified": True},
    ]
    r = await callback(client, await authorize(client))
    assert r.status_code == 200, r.text
    assert r.json()["user"]["user_id"] == alice.id


async def test_web_mode_redirects_to_the_client_with_tokens_in_the_fragment(client):
    r = await callback(client, await authorize(client, mode="web"))
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert location.path == "/" and not location.query
    tokens = parse_qs(location.fragment)
    me = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {tokens['access_token'][0]}"}
    )
    assert me.status_code == 200


async def test_wrong_or_replayed_state_is_refused(client):
    params = await authorize(client)
    r = await callback(client, {**params, "state": "forged"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "oauth_state_invalid"
    assert (await callback(client, params)).status_code == 200
    r = await callback(client, params)  # the same redirect again
    assert r.status_code == 400 and r.json()["error"]["code"] == "oauth_state_invalid"
    r = await callback(client, {"code": params["code"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "oauth_state_invalid"


async def test_a_replayed_code_is_rejected_by_the_provider(client):
    used = await authorize(client)
    assert (await callback(client, used)).status_code == 200
    fresh = await authorize(client)
    r = await callback(client, {**fresh, "code": used["code"]})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "oauth_code_rejected"


async def test_provider_errors_are_reported(client, github):
    github.deny = True
    params = await authorize(client)
    assert params["error"] == "access_denied"
    r = await callback(client, params)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "oauth_denied"
    assert "The user said no" in r.json()["error"]["message"]


async def test_a_browser_is_sent_back_to_sign_in_with_the_reason(client, github):
    """A page load of a failed callback redirects to /login#oauth_error=…; API calls get JSON."""
    github.deny = True
    params = await authorize(client, mode="web")
    r = await client.get(
        "/auth/oauth/github/callback", params=params, headers={"Accept": "text/html"}
    )
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert target.path == "/login"
    reason = {k: v[0] for k, v in parse_qs(target.fragment).items()}
    assert reason["oauth_error"] == "oauth_denied"
    assert "The user said no" in reason["message"]
    r = await client.get("/auth/oauth/github/callback", params={"state": "forged", "code": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "oauth_state_invalid"


async def test_an_unverified_email_is_refused(client, github, app):
    github.emails = [{"email": "octo@example.com", "primary": True, "verified": False}]
    r = await callback(client, await authorize(client))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "oauth_email_unverified"
    assert await app.state.services.db.users.count_documents({}) == 0  # nothing half-made


async def test_bad_mode_is_422(client):
    r = await client.get("/auth/oauth/github/start", params={"mode": "popup"})
    assert r.status_code == 422


async def test_without_settings_the_start_endpoint_is_404(app, client):
    svc = app.state.services
    original = svc.settings
    svc.settings = original.model_copy(update={"github_client_id": None})
    try:
        r = await client.get("/auth/oauth/github/start")
    finally:
        svc.settings = original
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "oauth_not_configured"


async def test_providers_says_whether_github_is_configured(app, client):
    r = await client.get("/auth/oauth/providers")
    assert r.status_code == 200 and r.json() == {"github": True}
    svc = app.state.services
    original = svc.settings
    svc.settings = original.model_copy(update={"github_client_secret": None})
    try:
        r = await client.get("/auth/oauth/providers")
    finally:
        svc.settings = original
    assert r.json() == {"github": False}
    spec = (await client.get("/openapi.json")).json()
    assert "get" in spec["paths"]["/auth/oauth/providers"]
