"""Accounts: sign-up with an e-mail code, sign-in, token rotation, and who is calling."""

from __future__ import annotations

import logging
from datetime import timedelta

from starlette.requests import HTTPConnection

from .errors import BadRequest, Forbidden, NotFound, Unauthorized, Unavailable, Unprocessable
from .mail import MailError
from .models import LoginRequest, SignupRequest, TokenPair
from .security import keyed_hash, new_opaque_token, new_otp
from .services import Services, services
from .store import sessions as session_store
from .store import users as user_store
from .store.users import UserRecord

log = logging.getLogger("murmur.accounts")


async def sign_up(svc: Services, req: SignupRequest) -> UserRecord:
    user = await user_store.create(
        svc.db,
        user_name=req.user_name,
        email=str(req.email),
        password_hash=svc.passwords.hash(req.password),
        metadata=req.user_metadata,
        now=svc.clock(),
        role="admin" if req.user_name.lower() in _admin_names(svc) else "user",
    )
    try:
        await send_otp(svc, user)
    except MailError as exc:
        # No account without a way to confirm it: undo, so that signing up again works.
        await session_store.delete_otp(svc.db, user_id=user.id)
        await user_store.delete(svc.db, user_id=user.id)
        raise _mail_unavailable() from exc
    return user


def _mail_unavailable() -> Unavailable:
    return Unavailable("The e-mail could not be sent; try again later.", code="mail_unavailable")


def _admin_names(svc: Services) -> set[str]:
    return {n.lower() for n in svc.settings.admin_user_names}


async def send_otp(svc: Services, user: UserRecord) -> None:
    code = new_otp()
    await session_store.put_otp(
        svc.db,
        user_id=user.id,
        code_hash=keyed_hash(svc.token_secret, f"otp:{user.id}:{code}"),
        now=svc.clock(),
        ttl_seconds=svc.settings.otp_ttl_seconds,
    )
    minutes = svc.settings.otp_ttl_seconds // 60
    await svc.mailer.send(
        user.email,
        f"Your Murmur code: {code}",
        f"Hi {user.user_name},\n\nYour Murmur verification code is {code}.\n"
        f"It expires in {minutes} minutes.\n",
    )


async def find_account(svc: Services, name_or_email: str) -> UserRecord:
    user = await user_store.by_name(svc.db, user_name=name_or_email)
    if user is None and "@" in name_or_email:
        user = await user_store.by_email(svc.db, email=name_or_email)
    if user is None:
        raise NotFound("No such account.", code="user_not_found")
    return user


async def resend_otp(svc: Services, name_or_email: str) -> None:
    user = await find_account(svc, name_or_email)
    if user.email_verified:
        raise BadRequest("This e-mail address is already verified.", code="already_verified")
    await svc.limits.hit(svc.settings.rate_limit_otp_resend, "otp-resend", user.id)
    try:
        await send_otp(svc, user)
    except MailError as exc:
        raise _mail_unavailable() from exc


async def verify_otp(svc: Services, name_or_email: str, code: str) -> TokenPair:
    user = await find_account(svc, name_or_email)
    if user.email_verified:
        raise BadRequest("This e-mail address is already verified.", code="already_verified")
    otp = await session_store.get_otp(svc.db, user_id=user.id)
    if otp is None:
        raise BadRequest("No code is pending; ask for a new one.", code="otp_missing")
    if otp["expires_at"] <= svc.clock():
        raise BadRequest("The code has expired; ask for a new one.", code="otp_expired")
    max_attempts = svc.settings.otp_max_attempts
    if otp["attempts"] >= max_attempts:
        raise Forbidden("Too many wrong codes; ask for a new one.", code="otp_locked")
    code_hash = keyed_hash(svc.token_secret, f"otp:{user.id}:{code}")
    if not await session_store.consume_otp(svc.db, user_id=user.id, code_hash=code_hash):
        attempts = await session_store.count_otp_failure(
            svc.db, user_id=user.id, max_attempts=max_attempts
        )
        if attempts is None or attempts >= max_attempts:
            raise Forbidden("Too many wrong codes; ask for a new one.", code="otp_locked")
        raise BadRequest(
            "That code is not right.",
            code="otp_invalid",
            details=[{"attempts_left": max_attempts - attempts}],
        )
    await user_store.set_verified(svc.db, user_id=user.id)
    return await start_session(svc, user.model_copy(update={"email_verified": True}))


async def log_in(svc: Services, req: LoginRequest) -> TokenPair:
    if bool(req.user_name) == bool(req.email):
        raise Unprocessable("Give either user_name or email, not both.", code="validation_error")
    identifier = req.user_name or req.email or ""
    await svc.limits.hit(svc.settings.rate_limit_login, "login", identifier.lower())
    if req.user_name:
        user = await user_store.by_name(svc.db, user_name=req.user_name)
    else:
        user = await user_store.by_email(svc.db, email=identifier)
    stored = user.password_hash if user else None
    if not svc.passwords.verify(stored, req.password) or user is None:
        raise Unauthorized("Wrong user name, e-mail or password.", code="invalid_credentials")
    if user.suspended:
        raise Forbidden("This account is suspended.", code="account_suspended")
    if not user.email_verified:
        raise Forbidden("Verify your e-mail address first.", code="email_not_verified")
    return await start_session(svc, user)


async def start_session(svc: Services, user: UserRecord) -> TokenPair:
    session_id = await session_store.create_session(svc.db, user_id=user.id, now=svc.clock())
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
        token_hash=keyed_hash(svc.token_secret, f"refresh:{refresh}"),
        expires_at=now + timedelta(seconds=svc.settings.refresh_token_ttl_seconds),
    )
    return TokenPair(
        access_token=svc.tokens.issue(user.id, session_id, now),
        refresh_token=refresh,
        expires_in=svc.tokens.ttl_seconds,
        user=user.me(),
    )


async def refresh(svc: Services, refresh_token: str) -> TokenPair:
    token_hash = keyed_hash(svc.token_secret, f"refresh:{refresh_token}")
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
    return await _issue(svc, user, session_id)


async def revoke(svc: Services, session_id: str) -> None:
    await session_store.revoke_session(svc.db, session_id=session_id, now=svc.clock())
    if svc.on_session_revoked:
        await svc.on_session_revoked(session_id)


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
    token = bearer_token(conn)
    return None if token is None else await authenticate(services(conn), token)
