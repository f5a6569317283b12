"""Changing a signed-in account's password or e-mail address.

Both need the current password. A new password ends every other session. A new address
changes nothing until the code mailed to it is confirmed (``verify_email_change``); the old
address is then told. An address another account holds gets the same answer as a free one
(its owner gets a notice, as at sign-up), so this is no way to learn who has an account.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from . import accounts, passwordpolicy
from .errors import ApiError, BadRequest, Forbidden, Unauthorized, Unavailable
from .mail import MailError
from .passwordreset import notify_password_changed
from .security import keyed_hash, new_otp
from .services import Services
from .store import account_codes as code_store
from .store import users as user_store
from .store.users import UserRecord


async def check_password(svc: Services, user: UserRecord, password: str) -> None:
    """401 unless ``password`` is the account's (counted against the credentials limit)."""
    await svc.limits.hit(svc.settings.rate_limit_credentials, "credentials", user.id)
    if not await svc.passwords.verify(user.password_hash, password):
        raise Unauthorized("The current password is not right.", code="invalid_credentials")


async def change_password(
    svc: Services, who: accounts.Caller, current_password: str, new_password: str
) -> int:
    """Set a new password; every other session ends. How many ended."""
    await check_password(svc, who.user, current_password)
    passwordpolicy.check(new_password, who.user.user_name)
    password_hash = await svc.passwords.hash(new_password)
    await user_store.set_password(svc.db, user_id=who.id, password_hash=password_hash)
    await svc.users_changed([who.id])  # cached records carry the hash
    ended = await accounts.end_sessions(svc, who.id, keep=who.session_id)
    await notify_password_changed(svc, who.user.email, who.user.user_name)
    return ended


def _code_hash(svc: Services, user_id: str, code: str) -> str:
    return keyed_hash(svc.keys.account, f"email-change:{user_id}:{code}")


async def start_email_change(
    svc: Services, user: UserRecord, new_email: str, current_password: str
) -> None:
    """Mail a code to ``new_email``; a taken address's owner gets a notice instead."""
    await check_password(svc, user, current_password)
    holder = await user_store.by_email(svc.db, email=new_email)
    if holder is not None:
        if holder.id != user.id:
            await svc.mailer.notify(new_email, *_TAKEN_NOTICE)
        return
    code, now = new_otp(), svc.clock()
    await code_store.put(
        svc.db,
        purpose="email",
        user_id=user.id,
        code_hash=_code_hash(svc, user.id, code),
        now=now,
        expires_at=now + timedelta(seconds=svc.settings.email_change_ttl_seconds),
        data={"new_email": new_email},
        one_per_account=True,
    )
    try:
        await svc.mailer.send(
            new_email,
            "Confirm your new Murmur e-mail address",
            f"Hi {user.user_name},\n\nTo make this your Murmur account's address, enter the "
            f"code {code}.\nIf you did not ask for this, ignore this mail.\n",
        )
    except MailError as exc:
        raise Unavailable(
            "The e-mail could not be sent; try again later.", code="mail_unavailable"
        ) from exc


async def verify_email_change(svc: Services, user: UserRecord, code: str) -> UserRecord:
    """Switch to the pending address once its code is right; the old address is told."""
    await svc.limits.hit(svc.settings.rate_limit_credentials, "email-verify", user.id)
    max_attempts = svc.settings.otp_max_attempts
    pending = await code_store.guess(
        svc.db,
        purpose="email",
        match={"user_id": user.id},
        now=svc.clock(),
        max_attempts=max_attempts,
    )
    if pending is None:
        raise Forbidden(
            "No change is waiting, or too many wrong codes; start again.", code="otp_locked"
        )
    code_hash = _code_hash(svc, user.id, code)
    if not hmac.compare_digest(pending["code_hash"], code_hash) or not await code_store.take(
        svc.db, code_id=pending["_id"], code_hash=code_hash
    ):
        left = max(0, max_attempts - int(pending["attempts"]))
        raise _wrong(left)
    new_email = str(pending["new_email"])
    await user_store.set_email(svc.db, user_id=user.id, email=new_email)
    await svc.users_changed([user.id])
    await svc.mailer.notify(
        user.email,
        "Your Murmur e-mail address was changed",
        f"Hi {user.user_name},\n\nYour Murmur account's address is now {new_email}. "
        "If you did not do this, reset your password and contact the operators.\n",
    )
    changed = await user_store.by_id(svc.db, user_id=user.id)
    assert changed is not None
    return changed


_TAKEN_NOTICE = (
    "Someone tried to move a Murmur account to your address",
    "Hi,\n\nSomeone asked to use this e-mail address for a Murmur account, but it already "
    "belongs to one. Nothing was changed.\n",
)


def _wrong(attempts_left: int) -> ApiError:
    return BadRequest(
        "That code is not right.", code="otp_invalid", details=[{"attempts_left": attempts_left}]
    )
