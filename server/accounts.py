"""Accounts: sign-in, sessions and token rotation, and who is calling.

Sign-up and its e-mail codes are in ``server/signup.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import HTTPConnection

from .errors import (
    Forbidden,
    Unauthorized,
    Unprocessable,
)
from .models import LoginRequest, TokenPair
from .ratelimit import client_address
from .security import keyed_hash, new_opaque_token
from .services import Services, services
from .store import account_codes as code_store
from .store import sessions as session_store
from .store import users as user_store
from .store.users import UserRecord

log = logging.getLogger("murmur.accounts")


@dataclass(frozen=True)
class Client:
    """Where a sign-in comes from, as the list of signed-in devices shows it."""

    address: str = ""
    user_agent: str = ""

    @classmethod
    def of(cls, conn: HTTPConnection) -> Client:
        return cls(client_address(conn), conn.headers.get("user-agent", ""))


async def log_in(svc: Services, req: LoginRequest, client: Client) -> TokenPair:
    """Check the password (in a worker thread) and start a session.

    Limited per client address, per (name, address) and, higher, per name: guessing one
    account's password is slow, yet a stranger's guesses cannot lock its owner out.
    """
    if bool(req.user_name) == bool(req.email):
        raise Unprocessable("Give either user_name or email, not both.", code="validation_error")
    identifier = req.user_name or req.email or ""
    settings, name, address = svc.settings, identifier.lower(), client.address
    await svc.limits.hit(settings.rate_limit_login_address, "login-address", address)
    await svc.limits.hit(settings.rate_limit_login, "login", name, address)
    await svc.limits.hit(settings.rate_limit_login_account, "login-account", name)
    if req.user_name:
        user = await user_store.by_name(svc.db, user_name=req.user_name)
    else:
        user = await user_store.by_email(svc.db, email=identifier)
    stored = user.password_hash if user else None
    if not await svc.passwords.verify(stored, req.password) or user is None:
        raise Unauthorized("Wrong user name, e-mail or password.", code="invalid_credentials")
    if user.suspended:
        raise Forbidden("This account is suspended.", code="account_suspended")
    if not user.email_verified:
        raise Forbidden("Verify your e-mail address first.", code="email_not_verified")
    return await start_session(svc, user, client)


async def start_session(svc: Services, user: UserRecord, client: Client | None = None) -> TokenPair:
    """Tokens for a new session, or, when the account has 2FA on, the challenge for its code
    (``SecondFactorRequired``, answered by ``twofactor.complete_login``): every way of
    signing in comes through here."""
    if user.totp_enabled:
        raise await _challenge(svc, user)
    return await open_session(svc, user, client or Client())


class SecondFactorRequired(Unauthorized):
    """The password (or GitHub) was right; now the code: ``POST /auth/login/2fa``."""

    code = "second_factor_required"


def challenge_hash(svc: Services, challenge: str) -> str:
    return keyed_hash(svc.keys.account, f"login-challenge:{challenge}")


async def _challenge(svc: Services, user: UserRecord) -> SecondFactorRequired:
    """A short-lived, single-use challenge that only the second factor turns into tokens."""
    challenge, now = new_opaque_token(), svc.clock()
    await code_store.put(
        svc.db,
        purpose="login",
        user_id=user.id,
        code_hash=challenge_hash(svc, challenge),
        now=now,
        expires_at=now + timedelta(seconds=svc.settings.login_challenge_ttl_seconds),
    )
    return SecondFactorRequired(
        "Enter the code from your authenticator app (or a recovery code).",
        details=[{"challenge": challenge}],
    )


async def open_session(svc: Services, user: UserRecord, client: Client) -> TokenPair:
    """Start the session itself (every factor checked)."""
    session_id = await session_store.create_session(
        svc.db,
        user_id=user.id,
        now=svc.clock(),
        user_agent=client.user_agent,
        address=client.address,
    )
    # Verifying the e-mail or linking GitHub changed the user just now: no process may keep
    # serving a copy cached before (a profile read, say).
    await svc.users_changed([user.id])
    return await _issue(svc, user, session_id)


async def _issue(svc: Services, user: UserRecord, session_id: str) -> TokenPair:
    now = svc.clock()
    refresh = new_opaque_token()
    await session_store.add_refresh_token(
        svc.db,
        session_id=session_id,
        user_id=user.id,
        token_hash=keyed_hash(svc.keys.refresh, f"refresh:{refresh}"),
        expires_at=now + timedelta(seconds=svc.settings.refresh_token_ttl_seconds),
    )
    return TokenPair(
        access_token=svc.tokens.issue(user.id, session_id, now),
        refresh_token=refresh,
        expires_in=svc.tokens.ttl_seconds,
        user=user.me(),
    )


async def refresh(svc: Services, refresh_token: str) -> TokenPair:
    token_hash = keyed_hash(svc.keys.refresh, f"refresh:{refresh_token}")
    stored = await session_store.find_refresh_token(svc.db, token_hash=token_hash)
    if stored is None or stored["expires_at"] <= svc.clock():
        raise Unauthorized("The refresh token is not valid.", code="invalid_refresh_token")
    session_id = stored["session_id"]
    # A signed-out (or already revoked) session says so, rather than looking like a reuse.
    if not await session_store.session_active(svc.db, session_id=session_id):
        raise Unauthorized("This session has ended; sign in again.", code="session_revoked")
    if not await session_store.use_refresh_token(svc.db, token_hash=token_hash):
        # A used token came back: it was copied. End the whole session, for both holders.
        await revoke(svc, session_id)
        log.warning("refresh token reuse in session %s: session revoked", session_id)
        raise Unauthorized("The refresh token was already used.", code="refresh_token_reused")
    user = await user_store.by_id(svc.db, user_id=stored["user_id"])
    if user is None or user.suspended:
        raise Unauthorized("This account cannot sign in.", code="invalid_refresh_token")
    await session_store.touch_session(svc.db, session_id=session_id, now=svc.clock())
    return await _issue(svc, user, session_id)


async def revoke(svc: Services, session_id: str) -> None:
    """End one session: its refresh tokens stop working and its sockets close, everywhere."""
    await session_store.revoke_session(svc.db, session_id=session_id, now=svc.clock())
    if svc.on_session_revoked:
        await svc.on_session_revoked(session_id)


async def end_sessions(svc: Services, user_id: str, *, keep: str | None = None) -> int:
    """End every session of the user but ``keep`` (after a password change or reset); how
    many ended. Each goes the way of ``revoke``: refused and disconnected on every process."""
    ended = 0
    for doc in await session_store.active_sessions(svc.db, user_id=user_id, limit=10_000):
        session_id = str(doc["_id"])
        if session_id != keep:
            await revoke(svc, session_id)
            ended += 1
    return ended


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class Caller:
    """The signed-in user behind a request, and the session they signed in with."""

    def __init__(self, user: UserRecord, session_id: str) -> None:
        self.user = user
        self.session_id = session_id

    @property
    def id(self) -> str:
        return self.user.id


async def authenticate(svc: Services, token: str) -> Caller:
    """The caller behind an access token: from the per-process caches when the hub runs
    (``server/authcache.py``: no database read when warm), else read afresh."""
    if svc.auth is not None:
        cached, session_id = await svc.auth.caller(token)
        return Caller(cached, session_id)
    claims = svc.tokens.verify(token, svc.clock())
    if not await session_store.session_active(svc.db, session_id=claims.session_id):
        raise Unauthorized("This session has ended; sign in again.", code="session_revoked")
    user = await user_store.by_id(svc.db, user_id=claims.user_id)
    if user is None:
        raise Unauthorized("The account no longer exists.", code="invalid_token")
    if user.suspended:
        raise Forbidden("This account is suspended.", code="account_suspended")
    return Caller(user, claims.session_id)


async def current_user(svc: Services, who: Caller) -> UserRecord:
    """The caller's record with its counters as stored (for responses that show them)."""
    if svc.auth is not None:
        return await svc.auth.fresh_counts(who.user)
    return who.user


async def caller(conn: HTTPConnection) -> Caller:
    """The signed-in caller; 401 when the request carries no valid token."""
    token = bearer_token(conn)
    if token is None:
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <token>'.")
    return await authenticate(services(conn), token)


async def optional_caller(conn: HTTPConnection) -> Caller | None:
    """The signed-in caller, or None; anonymous reads are rate limited per client address."""
    token = bearer_token(conn)
    if token is not None:
        return await authenticate(services(conn), token)
    svc = services(conn)
    await svc.limits.hit(
        svc.settings.rate_limit_anonymous_read, "anonymous-read", client_address(conn)
    )
    return None
