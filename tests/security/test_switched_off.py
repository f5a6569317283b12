"""Issue 10 (low): a feature that is switched off answers 404 with a clear code, never 5xx."""

from __future__ import annotations


def test_github_sign_in_unconfigured_is_a_404(start_murmur):
    murmur = start_murmur(GITHUB_CLIENT_ID=None, GITHUB_CLIENT_SECRET=None)
    with murmur.party() as client:
        assert client.get("/auth/oauth/providers").json() == {"github": False}
        for path, params in (
            ("/auth/oauth/github/start", {"mode": "json"}),
            ("/auth/oauth/github/start", {"mode": "web", "nonce": "n" * 22}),
            ("/auth/oauth/github/callback", {"state": "x", "code": "y"}),
        ):
            r = client.get(path, params=params)
            assert r.status_code == 404, (path, r.text)
            assert r.json()["error"]["code"] == "oauth_not_configured"
