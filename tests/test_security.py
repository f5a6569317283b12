"""Passwords, keyed hashes, codes and access tokens; forged tokens are refused over HTTP."""

from __future__ import annotations

import base64
import json
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from server.errors import Unauthorized
from server.keys import Keys
from server.security import AccessTokens, Passwords, keyed_hash, new_opaque_token, new_otp

SECRET = "s" * 40


async def test_passwords_hash_and_verify():
    passwords = Passwords(time_cost=1, memory_cost_kib=64)
    stored = await passwords.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert await passwords.verify(stored, "correct horse")
    assert not await passwords.verify(stored, "correct horsE")
    assert not await passwords.verify(None, "correct horse")
    assert not await passwords.verify("not a hash", "correct horse")


def test_codes_and_opaque_tokens_are_random_and_well_formed():
    codes = {new_otp() for _ in range(50)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 40
    assert len({new_opaque_token() for _ in range(50)}) == 50


def test_keyed_hash_depends_on_secret_and_value():
    assert keyed_hash("a", "x") == keyed_hash("a", "x")
    assert keyed_hash("a", "x") != keyed_hash("b", "x")
    assert keyed_hash("a", "x") != keyed_hash("a", "y")


NOW = datetime(2030, 1, 1, tzinfo=UTC)


def tokens() -> AccessTokens:
    return AccessTokens(SECRET, "murmur", "murmur-api", 900)


def test_access_token_round_trip_and_expiry():
    t = tokens()
    token = t.issue("u1", "s1", NOW)
    claims = t.verify(token, NOW + timedelta(seconds=899))
    assert (claims.user_id, claims.session_id) == ("u1", "s1")
    assert claims.expires_at == NOW + timedelta(seconds=900)
    with pytest.raises(Unauthorized) as err:
        t.verify(token, NOW + timedelta(seconds=900))
    assert err.value.code == "token_expired"


def test_a_token_issued_in_the_future_is_refused():
    t = tokens()
    token = t.issue("u1", "s1", NOW + timedelta(hours=1))
    with pytest.raises(Unauthorized):
        t.verify(token, NOW)


def _claims(**over: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "sub": "u1",
        "sid": "s1",
        "iss": "murmur",
        "aud": "murmur-api",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 900,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    "claims",
    [
        _claims(iss="someone-else"),
        _claims(aud="other-api"),
        _claims(sid=None),
        _claims(sub=None),
        _claims(exp=None),
        _claims(iat=None),
    ],
)
def test_claims_are_all_required_and_checked(claims):
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized) as err:
        tokens().verify(token, NOW)
    assert err.value.code == "invalid_token"


# --- over HTTP ------------------------------------------------------------------------------


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _forge(settings, user, *, algorithm="HS256", key=None, **over):
    """A token for ``user``'s real session, with some part changed."""
    real = jwt.decode(user.access_token, options={"verify_signature": False})
    claims = {**real, **over}
    with warnings.catch_warnings():
        # HS512 wants a longer key than ours; the forgery is the point, not the key's strength.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, key or Keys.derive(settings.jwt_secret).jwt, algorithm=algorithm)


async def _status(client, token: str) -> tuple[int, str]:
    r = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    return r.status_code, r.json()["error"]["code"] if r.status_code != 200 else ""


async def test_forged_tokens_are_refused(client, make_user, settings):
    alice = await make_user("alice")
    assert await _status(client, alice.access_token) == (200, "")
    # Re-signing the same claims with our secret works, so each case below fails for its change.
    assert await _status(client, _forge(settings, alice)) == (200, "")

    header, payload, signature = alice.access_token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    real = jwt.decode(alice.access_token, options={"verify_signature": False})
    cases = {
        "tampered signature": f"{header}.{payload}.{flipped}",
        "tampered payload": f"{header}.{_b64({**real, 'sub': 'someone'})}.{signature}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(real)}.",
        "alg none signed": jwt.encode(real, None, algorithm="none"),
        "HS512": _forge(settings, alice, algorithm="HS512"),
        "other secret": _forge(settings, alice, key="another-secret-" + "y" * 32),
        "wrong audience": _forge(settings, alice, aud="someone-else"),
        "wrong issuer": _forge(settings, alice, iss="evil"),
        "no session": jwt.encode(
            {k: v for k, v in real.items() if k != "sid"},
            Keys.derive(settings.jwt_secret).jwt,
            algorithm="HS256",
        ),
        # JWT_SECRET itself is not the signing key (server/keys.py derives one per job).
        "signed with JWT_SECRET": _forge(settings, alice, key=settings.jwt_secret),
        "garbage": "not.a.token",
        "empty parts": "..",
    }
    for name, token in cases.items():
        assert await _status(client, token) == (401, "invalid_token"), name


async def test_a_token_for_an_unknown_session_is_refused(client, make_user, settings):
    bob = await make_user("bob")
    token = _forge(settings, bob, sid="0" * 24)
    assert await _status(client, token) == (401, "session_revoked")
    token = _forge(settings, bob, sid="not-an-object-id")
    assert await _status(client, token) == (401, "session_revoked")


async def test_an_expired_access_token_is_refused(client, make_user, clock, settings):
    carol = await make_user("carol")
    clock.advance(seconds=settings.access_token_ttl_seconds - 1)
    assert await _status(client, carol.access_token) == (200, "")
    clock.advance(seconds=2)
    assert await _status(client, carol.access_token) == (401, "token_expired")
    # The refresh token still trades for a fresh access token.
    r = await client.post("/auth/refresh", json={"refresh_token": carol.refresh_token})
    assert r.status_code == 200
    assert await _status(client, r.json()["access_token"]) == (200, "")


async def test_authorization_header_shapes(client, make_user):
    dave = await make_user("dave")
    for header in (dave.access_token, f"Basic {dave.access_token}", "Bearer", "Bearer  "):
        r = await client.get("/users/me", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.json()["error"]["code"] == "unauthorized"
    r = await client.get("/users/me", headers={"Authorization": f"bearer {dave.access_token}"})
    assert r.status_code == 200
