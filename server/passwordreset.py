"""Forgotten passwords: a single-use link by e-mail, then a new password.

``POST /auth/password/forgot`` answers 202 before anything is looked up: the lookup, the
token and the e-mail happen after the response is sent (``send_link``, a background task of
the response), so neither the answer nor its timing says whether the account exists. The
link (``PUBLIC_BASE_URL/reset#token=…``: the fragment never reaches a server log) works
once, for ``PASSWORD_RESET_TTL_SECONDS``; only its HMAC is stored. Setting the password ends
every session of the account, and their sockets close on every process.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from . import accounts, passwordpolicy
from .errors import ApiError, BadRequest
from .mail import MailError
from .security import keyed_hash, new_opaque_token
from .services import Services
from .store import account_codes as code_store
from .store import users as user_store

log = logging.getLogger("murmur.passwordreset")


def _hash(svc: Services, token: str) -> str:
    return keyed_hash(svc.keys.account, f"password-reset:{token}")


async def ask(svc: Services, identifier: str, address: str) -> None:
    """The limits of asking, counted on the request path whether the account exists or not."""
    settings = svc.settings
    await svc.limits.hit(settings.rate_limit_password_forgot_address, "forgot-address", address)
    await svc.limits.hit(settings.rate_limit_password_forgot, "forgot", identifier.lower())


async def send_link(svc: Services, identifier: str) -> None:
    """Mail a reset link if ``identifier`` names a verified account (after the response)."""
    try:
        await _send_link(svc, identifier)
    except ApiError:
        log.info("password reset not sent: the account's limit is reached")
    except (MailError, OSError):
        log.warning("password reset mail not sent")
    except Exception:  # a background task: nobody else would see it
        log.exception("password reset failed")


async def _send_link(svc: Services, identifier: str) -> None:
    user = await user_store.by_name(svc.db, user_name=identifier)
    if user is None and "@" in identifier:
        user = await user_store.by_email(svc.db, email=identifier)
    if user is None or not user.email_verified or user.suspended:
        return
    # Per account too, whichever name or address asked for it.
    await svc.limits.hit(svc.settings.rate_limit_password_forgot, "forgot-account", user.id)
    token, now = new_opaque_token(), svc.clock()
    ttl = svc.settings.password_reset_ttl_seconds
    await code_store.put(
        svc.db,
        purpose="reset",
        user_id=user.id,
        code_hash=_hash(svc, token),
        now=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    link = f"{svc.settings.public_base_url.rstrip('/')}/reset#token={token}"
    await svc.mailer.send(
        user.email,
        "Reset your Murmur password",
        f"Hi {user.user_name},\n\nSomeone (perhaps you) asked to reset your Murmur password. "
        f"To choose a new one, open this link within {ttl // 60} minutes:\n\n{link}\n\n"
        "It works once. If you did not ask, ignore this mail: your password stays as it is.\n",
    )


async def reset(svc: Services, token: str, new_password: str, address: str) -> None:
    """Set the password from a live link, once, and end every session of the account."""
    await svc.limits.hit(svc.settings.rate_limit_password_reset_address, "reset-address", address)
    token_hash = _hash(svc, token)
    found = await code_store.live(svc.db, purpose="reset", code_hash=token_hash, now=svc.clock())
    user = await user_store.by_id(svc.db, user_id=found["user_id"]) if found else None
    if found is None or user is None:
        raise _invalid()
    passwordpolicy.check(new_password, user.user_name)  # before the link is used up
    password_hash = await svc.passwords.hash(new_password)
    if not await code_store.take(svc.db, code_id=found["_id"], code_hash=token_hash):
        raise _invalid()  # used by a request that got there first
    await user_store.set_password(svc.db, user_id=user.id, password_hash=password_hash)
    await code_store.delete_for_account(svc.db, purpose="reset", user_id=user.id)
    await accounts.end_sessions(svc, user.id)
    await notify_password_changed(svc, user.email, user.user_name)


async def notify_password_changed(svc: Services, email: str, user_name: str) -> None:
    """Tell the owner their password changed (a reset or a change): a stolen one shows."""
    await svc.mailer.notify(
        email,
        "Your Murmur password was changed",
        f"Hi {user_name},\n\nThe password of your Murmur account was just changed and "
        "other devices were signed out. If this was not you, reset it at once.\n",
    )


def _invalid() -> BadRequest:
    return BadRequest(
        "This reset link is not valid, was already used or has expired; ask for a new one.",
        code="reset_token_invalid",
    )
