"""Issue 10, item 4 (server side): a web sign-in finishes only in the browser that began it.

The attack: start "Sign in with GitHub" yourself, stop at the provider's redirect back, and
send the victim that callback link; finishing it would sign the victim's browser in to your
account, where they then post. (The browser side, fragment tokens, is tests/web.)
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.security.conftest import github_redirect

NONCE = "attacker-nonce-0123456789"


def test_someone_elses_callback_link_signs_nobody_in(murmur):
    with murmur.party("10.0.0.66") as attacker, murmur.party("10.0.0.1") as victim:
        link = github_redirect(attacker, mode="web", nonce=NONCE)
        # The victim's browser opens it: sent back to sign-in with the reason, no tokens.
        r = victim.get("/auth/oauth/github/callback", params=link, headers={"Accept": "text/html"})
        assert r.status_code == 302, r.text
        target = urlsplit(r.headers["location"])
        assert target.path == "/login" and "access_token" not in r.headers["location"]
        assert parse_qs(target.fragment)["oauth_error"] == ["oauth_browser_mismatch"]
        # As an API call: a clear 400.
        link = github_redirect(attacker, mode="web", nonce=NONCE)
        r = victim.get("/auth/oauth/github/callback", params=link)
        assert r.status_code == 400 and r.json()["error"]["code"] == "oauth_browser_mismatch"
        # A forged cookie does not help either.
        link = github_redirect(attacker, mode="web", nonce=NONCE)
        victim.cookies.set("murmur_oauth", "guessed", path="/auth/oauth/github")
        r = victim.get("/auth/oauth/github/callback", params=link)
        assert r.status_code == 400 and r.json()["error"]["code"] == "oauth_browser_mismatch"

        # The browser that started it finishes it, and gets its nonce back with the tokens.
        link = github_redirect(attacker, mode="web", nonce=NONCE)
        r = attacker.get("/auth/oauth/github/callback", params=link)
        assert r.status_code == 302, r.text
        fragment = parse_qs(urlsplit(r.headers["location"]).fragment)
        assert fragment["nonce"] == [NONCE] and fragment["access_token"][0]


def test_a_web_sign_in_needs_the_clients_nonce(murmur):
    with murmur.party() as client:
        for params in ({"mode": "web"}, {"mode": "web", "nonce": "short"}):
            r = client.get("/auth/oauth/github/start", params=params)
            assert r.status_code == 400 and r.json()["error"]["code"] == "oauth_nonce_missing"
