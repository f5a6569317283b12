"""Issue 10, item 6: configured roles go to verified, listed addresses, never to a name."""

from __future__ import annotations

import json

import pytest

from tests.security.conftest import github_redirect


def test_registering_a_listed_name_or_address_grants_nothing(start_murmur, github):
    murmur = start_murmur(ADMIN_EMAILS=json.dumps(["boss@example.com"]))
    with murmur.party("10.0.0.66") as attacker, murmur.party("10.0.0.1") as boss_client:
        # The name alone: a verified account called "boss" is an ordinary user.
        pair = murmur.verified_user(attacker, "boss", "mallory1@example.com")
        assert pair["user"]["role"] == "user"
        # The address, unverified: signing up with it grants nothing.
        r = attacker.post(
            "/auth/user/signup",
            json={"user_name": "boss2", "email": "boss@example.com", "password": "x" * 12},
        )
        assert r.status_code == 201 and r.json()["role"] == "user", r.text
        # Through GitHub, a login renamed to "boss" with another verified address: nothing.
        github.profile = {"id": 777, "login": "boss", "name": "Boss"}
        github.emails = [{"email": "mallory@example.com", "primary": True, "verified": True}]
        r = attacker.get("/auth/oauth/github/callback", params=github_redirect(attacker))
        assert r.status_code == 200 and r.json()["user"]["role"] == "user", r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert attacker.get("/admin/stats", headers=headers).status_code == 403

        # Whoever confirms the listed address is the admin.
        code = murmur.code("boss@example.com")
        r = boss_client.post("/auth/verify-otp", json={"user_name": "boss2", "otp": code})
        assert r.status_code == 200 and r.json()["user"]["role"] == "admin", r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert boss_client.get("/admin/stats", headers=headers).status_code == 200


def test_a_github_verified_listed_address_is_admin(start_murmur, github):
    murmur = start_murmur(ADMIN_EMAILS=json.dumps(["Octo@Example.com"]))
    with murmur.party() as client:
        r = client.get("/auth/oauth/github/callback", params=github_redirect(client))
        assert r.status_code == 200 and r.json()["user"]["role"] == "admin", r.text


def test_the_old_name_list_is_refused_at_start_up(start_murmur):
    with pytest.raises(RuntimeError, match="exited"):
        start_murmur(ADMIN_USER_NAMES=json.dumps(["boss"]))
