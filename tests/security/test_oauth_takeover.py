"""Issue 10, item 1: GitHub sign-in never hands someone an account another person claimed.

The attack: sign up as the victim's address with a password of your choosing, never verify,
and wait for the victim to sign in with GitHub (which verified the address for them).
"""

from __future__ import annotations

from tests.security.conftest import PASSWORD, github_redirect


def _github_sign_in(client, github, *, gid: int, login: str, email: str):
    github.profile = {"id": gid, "login": login, "name": login}
    github.emails = [{"email": email, "primary": True, "verified": True}]
    return client.get("/auth/oauth/github/callback", params=github_redirect(client))


def test_an_unverified_signup_does_not_capture_the_victims_github_sign_in(murmur, github):
    with murmur.party("10.0.0.66") as attacker, murmur.party("10.0.0.1") as victim:
        murmur.sign_up(attacker, "squatter", email="victim@example.com")  # never verified

        r = _github_sign_in(victim, github, gid=9001, login="victim", email="victim@example.com")
        assert r.status_code == 200, r.text
        account = r.json()["user"]
        assert account["user_name"] != "squatter"
        assert account["email"] == "victim@example.com" and account["email_verified"] is True

        # The attacker's password opens nothing: the claim on the address is gone.
        for login in ({"user_name": "squatter"}, {"email": "victim@example.com"}):
            r = attacker.post("/auth/login", json={**login, "password": PASSWORD})
            assert r.status_code == 401, r.text
            assert r.json()["error"]["code"] == "invalid_credentials"
        # Nor can the old claim be verified later (its pending code went with it).
        r = attacker.post(
            "/auth/verify-otp",
            json={"user_name": "squatter", "otp": murmur.code("victim@example.com")},
        )
        assert r.status_code in (400, 404), r.text

        # The victim signs in again with GitHub and lands in the same account.
        again = _github_sign_in(
            victim, github, gid=9001, login="victim", email="victim@example.com"
        )
        assert again.json()["user"]["user_id"] == account["user_id"]


def test_a_verified_account_is_linked_once_and_never_relinked(murmur, github):
    with murmur.party() as alice_client, murmur.party("10.0.0.66") as attacker:
        alice = murmur.verified_user(alice_client, "alice")
        r = _github_sign_in(
            alice_client, github, gid=1111, login="alice", email="alice@example.com"
        )
        assert r.status_code == 200, r.text
        assert r.json()["user"]["user_id"] == alice["user"]["user_id"]

        # Another GitHub account that (say, after an address change) shows the same address
        # does not replace the link and gets no session.
        r = _github_sign_in(attacker, github, gid=6666, login="mallory", email="alice@example.com")
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "oauth_email_in_use"
        assert "access_token" not in r.text

        # The original GitHub account still signs in to alice.
        r = _github_sign_in(
            alice_client, github, gid=1111, login="alice", email="alice@example.com"
        )
        assert r.json()["user"]["user_id"] == alice["user"]["user_id"]
