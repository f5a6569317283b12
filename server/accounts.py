"""Accounts: sign-up with an e-mail code, sign-in, token rotation, and who is calling."""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta

from starlette.requests import HTTPConnection

from .errors import (
    ApiError,
    BadRequest,
    Forbidden,
    NotFound,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from .mail import MailError
from .models import LoginRequest, SignupRequest, TokenPair
from .ratelimit import client_address
from .security import keyed_hash, new_opaque_token, new_otp
from .services import Services, services
from .store import sessions as session_store
from .store import users as user_store
from .store.users import Role, UserRecord

log = logging.getLogger("murmur.accounts")


async def sign_up(svc: Services, req: SignupRequest) -> UserRecord:
    user = await user_store.create(
        svc.db,
        user_name=req.user_name,
        email=str(req.email),
        password_hash=await svc.passwords.hash(req.password),
        metadata=req.user_metadata,
        now=svc.clock(),
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


def configured_role(svc: Services, verified_email: str) -> Role:
    """The role settings grant an account whose e-mail is verified: admin if it is listed.

    Only a verified address counts: a user name, or an address nobody has confirmed, can be
    taken by whoever registers it first.
    """
    listed = {e.lower() for e in svc.settings.admin_emails}
    return "admin" if verified_email.lower() in listed else "user"


async def send_otp(svc: Services, user: UserRecord) -> None:
    code = new_otp()
    await session_store.put_otp(
        svc.db,
        user_id=user.id,
        code_hash=keyed_hash(svc.keys.codes, f"otp:{user.id}:{code}"),
        now=svc.clock(),
        ttl_seconds=svc.settings.otp_ttl_seconds,
    )
    minutes = svc.settings.otp_ttl_seconds // 60
    await svc.mailer.send(
        user.email,
        # The code stays out of the subject: subjects get logged, previewed and indexed.
        "Your Murmur verification code",
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


async def verify_otp(svc: Services, name_or_email: str, code: str, address: str) -> TokenPair:
    """Confirm the e-mailed code: tokens for the first session, or a clear refusal.

    Guesses are limited per client address and per account per day (across resends, which
    each give a fresh code ``OTP_MAX_ATTEMPTS`` tries), and each guess is counted in the same
    atomic update that admits it (``session_store.guess_otp``).
    """
    settings = svc.settings
    await svc.limits.hit(settings.rate_limit_otp_verify_address, "otp-verify-address", address)
    user = await find_account(svc, name_or_email)
    if user.email_verified:
        raise BadRequest("This e-mail address is already verified.", code="already_verified")
    await svc.limits.hit(settings.rate_limit_otp_verify_account, "otp-verify-account", user.id)
    max_attempts = settings.otp_max_attempts
    otp = await session_store.guess_otp(
        svc.db, user_id=user.id, now=svc.clock(), max_attempts=max_attempts
    )
    if otp is None:
        raise await _no_guess_left(svc, user.id)
    code_hash = keyed_hash(svc.keys.codes, f"otp:{user.id}:{code}")
    right = hmac.compare_digest(otp["code_hash"], code_hash)
    if not right or not await session_store.consume_otp(
        svc.db, otp_id=otp["_id"], code_hash=code_hash
    ):
        left = max(0, max_attempts - int(otp["attempts"]))
        details = [{"attempts_left": left}]
        if left == 0:
            raise Forbidden(
                "That code is not right, and it was the last try; ask for a new one.",
                code="otp_locked",
                details=details,
            )
        raise BadRequest("That code is not right.", code="otp_invalid", details=details)
    role = configured_role(svc, user.email)
    await user_store.set_verified(svc.db, user_id=user.id, role=None if role == "user" else role)
    verified = {"email_verified": True, **({"role": role} if role != "user" else {})}
    return await start_session(svc, user.model_copy(update=verified))


async def _no_guess_left(svc: Services, user_id: str) -> ApiError:
    """Why a guess was not even compared (read only to explain; the update decided)."""
    otp = await session_store.get_otp(svc.db, user_id=user_id)
    if otp is None:
        return BadRequest("No code is pending; ask for a new one.", code="otp_missing")
    if otp["expires_at"] <= svc.clock():
        return BadRequest("The code has expired; ask for a new one.", code="otp_expired")
    return Forbidden("Too many wrong codes; ask for a new one.", code="otp_locked")


async def log_in(svc: Services, req: LoginRequest, address: str) -> TokenPair:
    """Check the password (in a worker thread) and start a session.

    Limited per client address, per (name, address) and, higher, per name: guessing one
    account's password is slow, yet a stranger's guesses cannot lock its owner out.
    """
    if bool(req.user_name) == bool(req.email):
        raise Unprocessable("Give either user_name or email, not both.", code="validation_error")
    identifier = req.user_name or req.email or ""
    settings, name = svc.settings, identifier.lower()
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
    return await start_session(svc, user)


async def start_session(svc: Services, user: UserRecord) -> TokenPair:
    session_id = await session_store.create_session(svc.db, user_id=user.id, now=svc.clock())
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
    claims = svc.tokens.verify(token, svc.clock())
    if not await session_store.session_active(svc.db, session_id=claims.session_id):
        raise Unauthorized("This session has ended; sign in again.", code="session_revoked")
    user = await user_store.by_id(svc.db, user_id=claims.user_id)
    if user is None:
        raise Unauthorized("The account no longer exists.", code="invalid_token")
    if user.suspended:
        raise Forbidden("This account is suspended.", code="account_suspended")
    return Caller(user, claims.session_id)


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
