"""Passwords, one-time codes and tokens. JWT algorithm is pinned to HS256."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import Unauthorized

JWT_ALGORITHM = "HS256"
# Tolerated difference between our clock and the issuer's (several app processes).
CLOCK_SKEW_SECONDS = 60


class Passwords:
    """argon2id hashing off the event loop; the cost comes from settings.

    A hash costs tens of milliseconds of CPU and ``memory_cost_kib`` of memory on purpose.
    Run inline, a stream of sign-ins would stall every request and socket of the process, so
    each one runs in a worker thread (argon2 releases the GIL), at most ``concurrency`` at
    once: the rest wait their turn without holding memory, and a core stays free for the loop.
    """

    def __init__(self, time_cost: int, memory_cost_kib: int, concurrency: int = 1) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib)
        # A real hash to verify against when the user does not exist, so both paths cost the same.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self._slots = asyncio.Semaphore(max(1, concurrency))

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and bool(stored_hash)
        except (VerificationError, InvalidHashError):
            return False


def new_otp() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def keyed_hash(secret: str, value: str) -> str:
    """A keyed digest for secrets we store but never show again (OTPs, refresh tokens).

    ``secret`` is the job's own key (``server/keys.py``), never ``JWT_SECRET`` itself.
    """
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    expires_at: datetime


class AccessTokens:
    """Issues and checks short-lived JWT access tokens."""

    def __init__(self, secret: str, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, session_id: str, now: datetime) -> str:
        claims = {
            "sub": user_id,
            "sid": session_id,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_seconds)).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM)

    def verify(self, token: str, now: datetime) -> AccessClaims:
        """Checks signature, algorithm, issuer, audience and expiry; raises Unauthorized."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[JWT_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud", "sid"],
                    # Both are checked below against the app's clock, so tests can move time.
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("The access token is not valid.", code="invalid_token") from exc
        if not isinstance(claims["iat"], int) or not isinstance(claims["exp"], int):
            raise Unauthorized("The access token is not valid.", code="invalid_token")
        if claims["iat"] > int(now.timestamp()) + CLOCK_SKEW_SECONDS:
            raise Unauthorized("The access token is not valid yet.", code="invalid_token")
        if claims["exp"] <= int(now.timestamp()):
            raise Unauthorized("The access token has expired.", code="token_expired")
        return AccessClaims(
            user_id=str(claims["sub"]),
            session_id=str(claims["sid"]),
            expires_at=datetime.fromtimestamp(claims["exp"], tz=now.tzinfo),
        )
