"""Sign-up with an e-mail code: create the account, send the code, confirm it.

The answers do not tell strangers which addresses have accounts: signing up with a taken
address answers like any sign-up (the address's owner gets a notice instead of a code);
``resend`` always answers 202; ``verify`` answers an unknown or already verified account
like a wrong code. An account whose address is not confirmed within
``UNVERIFIED_ACCOUNT_TTL_SECONDS`` (a day) is deleted, so nobody can squat an address.

Guessing a code is bounded: five tries per code, each counted by the atomic update that
admits it (``session_store.guess_otp``), and a daily bound per account across resends.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime, timedelta

from bson import ObjectId

from . import passwordpolicy
from .accounts import Client, start_session
from .errors import ApiError, BadRequest, Conflict, Forbidden, Unavailable
from .mail import MailError
from .models import Me, SignupRequest, TokenPair
from .security import keyed_hash, new_otp
from .services import Services
from .store import sessions as session_store
from .store import users as user_store
from .store.users import Role, UserRecord

log = logging.getLogger("murmur.signup")


async def sign_up(svc: Services, req: SignupRequest) -> Me:
    """Create the account and e-mail its code; a taken address gets the same answer."""
    passwordpolicy.check(req.password, req.user_name)  # depends on the request alone
    now = svc.clock()
    password_hash = await svc.passwords.hash(req.password)  # on both paths: same timing
    try:
        user = await _create(svc, req, password_hash, now)
    except Conflict as exc:
        if exc.code != "email_taken":
            raise  # user names are public (profiles), so a taken one may say so
        await _tell_the_owner(svc, str(req.email))
        return _as_if_created(req, now)
    try:
        await send_otp(svc, user)
    except MailError as exc:
        # No account without a way to confirm it: undo, so that signing up again works.
        await session_store.delete_otp(svc.db, user_id=user.id)
        await user_store.delete(svc.db, user_id=user.id)
        raise _mail_unavailable() from exc
    return user.me()


async def _create(
    svc: Services, req: SignupRequest, password_hash: str, now: datetime
) -> UserRecord:
    """Insert the account; an expired unverified one holding the name or address goes first."""

    async def insert() -> UserRecord:
        return await user_store.create(
            svc.db,
            user_name=req.user_name,
            email=str(req.email),
            password_hash=password_hash,
            metadata=req.user_metadata,
            now=now,
            extra={"unverified_expires_at": now + _unverified_ttl(svc)},
        )

    try:
        return await insert()
    except Conflict:
        dropped = False
        for holder in (
            await user_store.by_name(svc.db, user_name=req.user_name),
            await user_store.by_email(svc.db, email=str(req.email)),
        ):
            if holder is not None and expired(svc, holder):
                dropped |= await _drop(svc, holder)
        if not dropped:
            raise
        return await insert()


def _unverified_ttl(svc: Services) -> timedelta:
    return timedelta(seconds=svc.settings.unverified_account_ttl_seconds)


def expired(svc: Services, user: UserRecord) -> bool:
    """An unverified account past its time to be confirmed: treated as if it did not exist."""
    deadline = user.unverified_expires_at
    return not user.email_verified and deadline is not None and deadline <= svc.clock()


async def _drop(svc: Services, user: UserRecord) -> bool:
    if not await user_store.delete_unverified(svc.db, user_id=user.id):
        return False
    await session_store.delete_otp(svc.db, user_id=user.id)
    log.info("deleted unverified account %s: not confirmed in time", user.id)
    return True


async def _tell_the_owner(svc: Services, email: str) -> None:
    """Someone signed up with an address that has an account: tell its owner, not them."""
    try:
        await svc.mailer.send(
            email,
            "Someone tried to create a Murmur account with your address",
            "Hi,\n\nSomeone (perhaps you) tried to create a Murmur account with this e-mail "
            "address, which already has one. Nothing was changed. If it was you, sign in "
            "instead.\n",
        )
    except MailError:
        log.warning("could not send a sign-up notice")  # the answer must not differ


def _as_if_created(req: SignupRequest, now: datetime) -> Me:
    return Me(
        user_id=str(ObjectId()),
        user_name=req.user_name,
        email=str(req.email),
        email_verified=False,
        user_metadata=req.user_metadata,
        created_at=now,
        follower_count=0,
        following_count=0,
        tweet_count=0,
        role="user",
        suspended=False,
    )


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


async def _pending_account(svc: Services, name_or_email: str) -> UserRecord | None:
    """The unverified, unexpired account by name or e-mail; None for anything else."""
    user = await user_store.by_name(svc.db, user_name=name_or_email)
    if user is None and "@" in name_or_email:
        user = await user_store.by_email(svc.db, email=name_or_email)
    if user is None or user.email_verified or expired(svc, user):
        return None
    return user


async def resend_otp(svc: Services, name_or_email: str, address: str) -> None:
    """Send a fresh code to a pending account; the same 202 whether there is one or not."""
    settings = svc.settings
    await svc.limits.hit(settings.rate_limit_otp_resend_address, "otp-resend-address", address)
    await svc.limits.hit(settings.rate_limit_otp_resend, "otp-resend", name_or_email.lower())
    user = await _pending_account(svc, name_or_email)
    if user is None:
        return
    try:
        await send_otp(svc, user)
    except MailError as exc:
        raise _mail_unavailable() from exc


def _wrong_code(attempts_left: int | None = None) -> ApiError:
    details = [] if attempts_left is None else [{"attempts_left": attempts_left}]
    if attempts_left == 0:
        return Forbidden(
            "That code is not right, and it was the last try; ask for a new one.",
            code="otp_locked",
            details=details,
        )
    return BadRequest("That code is not right.", code="otp_invalid", details=details)


async def verify_otp(svc: Services, name_or_email: str, code: str, client: Client) -> TokenPair:
    """Confirm the e-mailed code: tokens for the first session, or a refusal.

    Guesses are limited per client address and per account per day (across resends, which
    each give a fresh code ``OTP_MAX_ATTEMPTS`` tries), and each guess is counted in the same
    atomic update that admits it. An unknown, verified or expired account, and a missing or
    expired code, all answer like a wrong code.
    """
    settings, address = svc.settings, client.address
    await svc.limits.hit(settings.rate_limit_otp_verify_address, "otp-verify-address", address)
    user = await _pending_account(svc, name_or_email)
    if user is None:
        raise _wrong_code()
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
        raise _wrong_code(max(0, max_attempts - int(otp["attempts"])))
    role = configured_role(svc, user.email)
    await user_store.set_verified(svc.db, user_id=user.id, role=None if role == "user" else role)
    verified = {"email_verified": True, **({"role": role} if role != "user" else {})}
    return await start_session(svc, user.model_copy(update=verified), client)


async def _no_guess_left(svc: Services, user_id: str) -> ApiError:
    """Why a guess was not even compared (read only to explain; the update decided)."""
    otp = await session_store.get_otp(svc.db, user_id=user_id)
    if otp is not None and otp["expires_at"] > svc.clock():
        return Forbidden("Too many wrong codes; ask for a new one.", code="otp_locked")
    return _wrong_code()  # no code pending, or it expired: ask for a new one
