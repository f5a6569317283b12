"""Issue 10 (low): secrets — length in production, one derived key per job, a private file."""

from __future__ import annotations

import stat
import time

import jwt
import pytest

from tests.servers import live_env


def test_production_refuses_a_short_jwt_secret(live_app, tmp_path):
    with pytest.raises(RuntimeError, match="exited"):
        live_app(ENVIRONMENT="production", JWT_SECRET="too-short-to-be-safe")
    log = "".join(p.read_text() for p in tmp_path.glob("app*.log"))
    assert "JWT_SECRET must be at least 32 bytes" in log


def test_a_token_signed_with_jwt_secret_itself_is_refused(start_murmur, mongo_url, tmp_path):
    murmur = start_murmur()
    raw_secret = live_env(mongo_url, "x", tmp_path)["JWT_SECRET"]
    with murmur.party() as client:
        pair = murmur.verified_user(client, "keyed")
        real = jwt.decode(pair["access_token"], options={"verify_signature": False})
        # Someone who learnt JWT_SECRET's job (say, from an HMAC it keyed) cannot sign with it:
        # access tokens are signed with a key derived for that job alone.
        forged = jwt.encode({**real, "iat": int(time.time())}, raw_secret, algorithm="HS256")
        r = client.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
        r = client.get("/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert r.status_code == 200


def test_the_generated_development_secret_is_private_from_the_start(live_app, tmp_path):
    live_app(ENVIRONMENT="development", JWT_SECRET="")
    path = tmp_path / "jwt_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text()) >= 32
