"""Request and response models of the account lifecycle (issue 13): password reset and
change, e-mail change, two-factor sign-in, signed-in devices. Shared shapes are in
``server/models.py``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from .models import Strict, UtcTime

Password = Annotated[str, Field(min_length=1, max_length=128)]


class ForgotPassword(Strict):
    user_name: str | None = Field(default=None, max_length=254)
    email: str | None = Field(default=None, max_length=254)


class ResetPassword(Strict):
    token: str = Field(min_length=1, max_length=256)
    new_password: Password


class ChangePassword(Strict):
    current_password: Password
    new_password: Password


class DeleteAccount(Strict):
    password: Password


class ChangeEmail(Strict):
    new_email: EmailStr = Field(max_length=254)
    current_password: Password


class VerifyEmailChange(Strict):
    code: str = Field(pattern=r"^\d{6}$")


class TwoFactorSetup(BaseModel):
    secret: str = Field(description="base32, for typing into an authenticator app")
    otpauth_uri: str
    qr_svg: str = Field(description="the otpauth URI as a QR code: a data:image/svg+xml URI")


class TwoFactorCode(Strict):
    code: str = Field(pattern=r"^\d{6}$")


class DisableTwoFactor(Strict):
    password: Password
    code: str = Field(min_length=6, max_length=32, description="a current or recovery code")


class RecoveryCodes(BaseModel):
    recovery_codes: list[str]


class SecondFactorLogin(Strict):
    challenge: str = Field(min_length=1, max_length=256)
    code: str | None = Field(default=None, pattern=r"^\d{6}$")
    recovery_code: str | None = Field(default=None, min_length=6, max_length=32)


class SessionInfo(BaseModel):
    """One signed-in device: a session and the client it signed in from."""

    session_id: str
    created_at: UtcTime
    last_used_at: UtcTime = Field(description="sign-in or last token refresh")
    user_agent: str
    address: str
    current: bool


class SessionList(BaseModel):
    items: list[SessionInfo]
