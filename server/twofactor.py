"""Two-factor sign-in with TOTP (RFC 6238, ``pyotp``): set up, enable, disable, and the
second step of signing in.

A code is accepted in its 30-second step or the one either side (clock drift), and only
once: the step is recorded by an atomic update that matches only a later step
(``store/twofactor.claim_step``). The ten recovery codes are stored as HMACs and each is
removed by the update that accepts it. Sign-in with 2FA on ends in a challenge
(``accounts.start_session``), valid ``LOGIN_CHALLENGE_TTL_SECONDS``, for
``LOGIN_CHALLENGE_MAX_ATTEMPTS`` codes counted atomically, and taken once.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
import segno

from . import accounts
from .account_models import TwoFactorSetup
from .accounts import Client
from .errors import ApiError, Conflict, Unauthorized, Unprocessable
from .models import TokenPair
from .security import keyed_hash
from .services import Services
from .store import account_codes as code_store
from .store import twofactor as totp_store
from .store import users as user_store
from .store.users import UserRecord

RECOVERY_CODES = 10


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (now's, or one either side) whose code ``code`` is; None if none is."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _recovery_hash(svc: Services, user_id: str, code: str) -> str:
    normalized = code.replace("-", "").replace(" ", "").lower()
    return keyed_hash(svc.keys.account, f"recovery:{user_id}:{normalized}")


async def setup(svc: Services, user: UserRecord) -> TwoFactorSetup:
    """A fresh secret to add to an authenticator app; nothing changes until ``enable``."""
    secret = pyotp.random_base32()
    if not await totp_store.set_pending(svc.db, user_id=user.id, secret=secret):
        raise Conflict("Two-factor sign-in is already on.", code="two_factor_enabled")
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=user.user_name, issuer_name=svc.settings.totp_issuer
    )
    qr = segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
    return TwoFactorSetup(secret=secret, otpauth_uri=uri, qr_svg=qr)


async def enable(svc: Services, user: UserRecord, code: str) -> list[str]:
    """Confirm the pending secret with a code from the app; the recovery codes, shown once."""
    await svc.limits.hit(svc.settings.rate_limit_credentials, "2fa-enable", user.id)
    enabled, pending = await totp_store.secret(svc.db, user_id=user.id)
    if enabled is not None:
        raise Conflict("Two-factor sign-in is already on.", code="two_factor_enabled")
    if pending is None:
        raise Conflict("Start with POST /users/me/2fa/setup.", code="two_factor_not_set_up")
    step = matching_step(pending, code, svc.clock())
    if step is None:
        raise _wrong_code()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    hashes = [_recovery_hash(svc, user.id, c) for c in codes]
    if not await totp_store.enable(
        svc.db, user_id=user.id, secret=pending, step=step, recovery_hashes=hashes
    ):
        raise Conflict("The setup changed meanwhile; start again.", code="two_factor_not_set_up")
    await svc.users_changed([user.id])
    await _notify(svc, user, "on")
    return codes


async def disable(svc: Services, user: UserRecord, password: str, code: str) -> None:
    """Turn 2FA off: the password and a current code (or a recovery code) both needed."""
    await svc.limits.hit(svc.settings.rate_limit_credentials, "2fa-disable", user.id)
    if not await svc.passwords.verify(user.password_hash, password):
        raise Unauthorized("The password is not right.", code="invalid_credentials")
    if not await _second_factor(svc, user.id, code, code):
        raise _wrong_code()
    await totp_store.disable(svc.db, user_id=user.id)
    await svc.users_changed([user.id])
    await _notify(svc, user, "off")


async def complete_login(
    svc: Services, challenge: str, code: str | None, recovery_code: str | None, client: Client
) -> TokenPair:
    """The second step of signing in: the challenge and a code (or a recovery code)."""
    settings = svc.settings
    await svc.limits.hit(settings.rate_limit_second_factor_address, "2fa-address", client.address)
    if bool(code) == bool(recovery_code):
        raise Unprocessable("Give either code or recovery_code.", code="validation_error")
    challenge_hash = accounts.challenge_hash(svc, challenge)
    found = await code_store.guess(
        svc.db,
        purpose="login",
        match={"code_hash": challenge_hash},
        now=svc.clock(),
        max_attempts=settings.login_challenge_max_attempts,
    )
    if found is None:
        raise Unauthorized(
            "This sign-in expired or had too many wrong codes; sign in again.",
            code="challenge_invalid",
        )
    user_id = str(found["user_id"])
    await svc.limits.hit(settings.rate_limit_second_factor_account, "2fa-account", user_id)
    if not await _second_factor(svc, user_id, code, recovery_code):
        raise _wrong_code(max(0, settings.login_challenge_max_attempts - int(found["attempts"])))
    if not await code_store.take(svc.db, code_id=found["_id"], code_hash=challenge_hash):
        raise Unauthorized("This sign-in was already completed.", code="challenge_invalid")
    user = await user_store.by_id(svc.db, user_id=user_id)
    if user is None or user.suspended or not user.email_verified:
        raise Unauthorized("This account cannot sign in.", code="challenge_invalid")
    return await accounts.open_session(svc, user, client)


async def _second_factor(
    svc: Services, user_id: str, code: str | None, recovery_code: str | None
) -> bool:
    """Whether a current, unused TOTP code or an unused recovery code was given (and use it)."""
    secret, _ = await totp_store.secret(svc.db, user_id=user_id)
    if secret is None:
        return False
    if code and code.isdigit() and len(code) == 6:
        step = matching_step(secret, code, svc.clock())
        if step is not None and await totp_store.claim_step(svc.db, user_id=user_id, step=step):
            return True
    if recovery_code:
        code_hash = _recovery_hash(svc, user_id, recovery_code)
        return await totp_store.use_recovery_code(svc.db, user_id=user_id, code_hash=code_hash)
    return False


async def _notify(svc: Services, user: UserRecord, state: str) -> None:
    """Tell the owner: someone holding a session could otherwise lock them out unnoticed."""
    await svc.mailer.notify(
        user.email,
        f"Two-factor sign-in was turned {state}",
        f"Hi {user.user_name},\n\nTwo-factor sign-in for your Murmur account was just turned "
        f"{state}. If this was not you, reset your password and contact the operators.\n",
    )


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


def _wrong_code(attempts_left: int | None = None) -> ApiError:
    details = [] if attempts_left is None else [{"attempts_left": attempts_left}]
    return Unauthorized("That code is not right.", code="second_factor_invalid", details=details)
