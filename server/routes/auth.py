"""/auth: user-name checks, sign-up with an e-mail code, sign-in (and its second factor),
refresh, sign-out, and forgotten passwords."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, passwordreset, profiles, twofactor
from .. import signup as signups
from ..account_models import ForgotPassword, ResetPassword, SecondFactorLogin
from ..api import Param, Router
from ..errors import Unprocessable
from ..http import has_body, json_response, read_json
from ..models import (
    LoginRequest,
    LogoutRequest,
    Me,
    RefreshRequest,
    ResendOtpRequest,
    SignupRequest,
    TokenPair,
    UsernameAvailability,
    VerifyOtpRequest,
    user_name_problem,
)
from ..ratelimit import client_address
from ..services import services

router = Router("auth")


@router.get(
    "/auth/username-availability",
    "Is a user name free to take?",
    response=UsernameAvailability,
    params=(Param("username", "the name to check", required=True),),
    errors=(429,),
)
async def username_availability(request: Request) -> Response:
    svc = services(request)
    await svc.limits.hit(
        svc.settings.rate_limit_username_check, "username-check", client_address(request)
    )
    name = request.query_params.get("username", "")
    reason = user_name_problem(name)
    if reason is None and await profiles.name_taken(svc, name):
        reason = "That user name is already taken."
    body = UsernameAvailability(username=name, available=reason is None, reason=reason)
    return json_response(body)


@router.post(
    "/auth/user/signup",
    "Create an account; a 6-digit code is e-mailed",
    body=SignupRequest,
    response=Me,
    status=201,
    errors=(409, 422, 429, 503),
)
async def signup(request: Request) -> Response:
    svc = services(request)
    req = await read_json(request, SignupRequest, svc.settings.max_body_bytes)
    await svc.limits.hit(svc.settings.rate_limit_signup, "signup", client_address(request))
    return json_response(await signups.sign_up(svc, req), status=201)


@router.post(
    "/auth/verify-otp",
    "Confirm the e-mail code; returns tokens",
    body=VerifyOtpRequest,
    response=TokenPair,
    errors=(400, 403, 404, 429),
)
async def verify_otp(request: Request) -> Response:
    svc = services(request)
    req = await read_json(request, VerifyOtpRequest, svc.settings.max_body_bytes)
    tokens = await signups.verify_otp(svc, req.user_name, req.otp, accounts.Client.of(request))
    return json_response(tokens)


@router.post(
    "/auth/resend-otp",
    "Send a new e-mail code",
    body=ResendOtpRequest,
    status=202,
    errors=(400, 404, 429, 503),
)
async def resend_otp(request: Request) -> Response:
    svc = services(request)
    req = await read_json(request, ResendOtpRequest, svc.settings.max_body_bytes)
    await signups.resend_otp(svc, req.user_name, client_address(request))
    return json_response({"sent": True}, status=202)


@router.post(
    "/auth/login",
    "Sign in with user name or e-mail and password",
    body=LoginRequest,
    response=TokenPair,
    errors=(401, 403, 429),
)
async def login(request: Request) -> Response:
    """With two-factor sign-in on: 401 ``second_factor_required``, the challenge in details."""
    svc = services(request)
    req = await read_json(request, LoginRequest, svc.settings.max_body_bytes)
    return json_response(await accounts.log_in(svc, req, accounts.Client.of(request)))


@router.post(
    "/auth/refresh",
    "Trade a refresh token for a new pair (the old one stops working)",
    body=RefreshRequest,
    response=TokenPair,
    errors=(401,),
)
async def refresh(request: Request) -> Response:
    svc = services(request)
    req = await read_json(request, RefreshRequest, svc.settings.max_body_bytes)
    return json_response(await accounts.refresh(svc, req.refresh_token))


@router.post(
    "/auth/logout",
    "End this session (its refresh tokens and open sockets)",
    body=LogoutRequest,
    body_required=False,
    status=204,
    auth=True,
)
async def logout(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    if has_body(request):
        # Optional and only checked: the session named by the access token is what ends.
        await read_json(request, LogoutRequest, svc.settings.max_body_bytes)
    await accounts.revoke(svc, who.session_id)
    return Response(status_code=204)


@router.post(
    "/auth/login/2fa",
    "Finish a sign-in that answered second_factor_required: the challenge and a code",
    body=SecondFactorLogin,
    response=TokenPair,
    errors=(401, 429),
)
async def login_second_factor(request: Request) -> Response:
    svc = services(request)
    req = await read_json(request, SecondFactorLogin, svc.settings.max_body_bytes)
    client = accounts.Client.of(request)
    tokens = await twofactor.complete_login(svc, req.challenge, req.code, req.recovery_code, client)
    return json_response(tokens)


@router.post(
    "/auth/password/forgot",
    "Mail a password-reset link (202 whether or not the account exists)",
    body=ForgotPassword,
    status=202,
    errors=(429,),
)
async def forgot_password(request: Request) -> Response:
    svc = services(request)
    req = await read_json(request, ForgotPassword, svc.settings.max_body_bytes)
    if bool(req.user_name) == bool(req.email):
        raise Unprocessable("Give either user_name or email, not both.", code="validation_error")
    identifier = req.user_name or req.email or ""
    await passwordreset.ask(svc, identifier, client_address(request))
    # Looked up and mailed after the answer is sent: its timing says nothing either.
    response = json_response({"sent": True}, status=202)
    response.background = BackgroundTask(passwordreset.send_link, svc, identifier)
    return response


@router.post(
    "/auth/password/reset",
    "Set a new password with the e-mailed link's token; every session ends",
    body=ResetPassword,
    status=204,
    errors=(400, 422, 429),
)
async def reset_password(request: Request) -> Response:
    svc = services(request)
    req = await read_json(request, ResetPassword, svc.settings.max_body_bytes)
    await passwordreset.reset(svc, req.token, req.new_password, client_address(request))
    return Response(status_code=204)
