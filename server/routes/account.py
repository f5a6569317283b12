"""/users/me/...: the signed-in account's password, e-mail, devices, two factors and export."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .. import accounts, credentials, devices, export, leaving, twofactor
from ..account_models import (
    ChangeEmail,
    ChangePassword,
    DeleteAccount,
    DisableTwoFactor,
    RecoveryCodes,
    SessionList,
    TwoFactorCode,
    TwoFactorSetup,
    VerifyEmailChange,
)
from ..api import Param, Router
from ..http import json_response, read_json
from ..models import Me
from ..services import services

router = Router("account")


@router.post(
    "/users/me/password",
    "Change the password (the current one needed); every other session ends",
    body=ChangePassword,
    status=204,
    auth=True,
    errors=(401, 422, 429),
)
async def change_password(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, ChangePassword, svc.settings.max_body_bytes)
    await credentials.change_password(svc, who, req.current_password, req.new_password)
    return Response(status_code=204)


@router.post(
    "/users/me/email",
    "Ask to change the e-mail address: a code goes to the new one (202 either way)",
    body=ChangeEmail,
    status=202,
    auth=True,
    errors=(401, 429, 503),
)
async def change_email(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, ChangeEmail, svc.settings.max_body_bytes)
    await credentials.start_email_change(svc, who.user, str(req.new_email), req.current_password)
    return json_response({"sent": True}, status=202)


@router.post(
    "/users/me/email/verify",
    "Confirm the code sent to the new address: the address changes now",
    body=VerifyEmailChange,
    response=Me,
    auth=True,
    errors=(400, 403, 409, 429),
)
async def verify_email(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, VerifyEmailChange, svc.settings.max_body_bytes)
    return json_response((await credentials.verify_email_change(svc, who.user, req.code)).me())


@router.get(
    "/users/me/sessions", "The signed-in devices (sessions)", response=SessionList, auth=True
)
async def list_sessions(request: Request) -> Response:
    svc = services(request)
    return json_response(await devices.list_sessions(svc, await accounts.caller(request)))


@router.delete("/users/me/sessions", "End every session but this one", status=204, auth=True)
async def end_other_sessions(request: Request) -> Response:
    svc = services(request)
    await devices.end_others(svc, await accounts.caller(request))
    return Response(status_code=204)


@router.delete(
    "/users/me/sessions/{session_id}",
    "End one session: its refresh tokens stop working, its sockets close",
    status=204,
    auth=True,
    params=(Param("session_id", location="path", required=True),),
    errors=(404,),
)
async def end_session(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    await devices.end_one(svc, who, request.path_params["session_id"])
    return Response(status_code=204)


@router.delete(
    "/users/me",
    "Delete your account: it is gone at once (sessions end, the profile answers 404) and "
    "everything it owns is removed moments later, every counter adjusted; the name stays "
    "taken for 30 days",
    body=DeleteAccount,
    status=204,
    auth=True,
    errors=(401, 413, 415, 422, 429),
)
async def delete_me(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, DeleteAccount, svc.settings.max_body_bytes)
    await leaving.delete_account(svc, who, req.password)
    return Response(status_code=204)


@router.post(
    "/users/me/2fa/setup",
    "Start two-factor sign-in: a new TOTP secret, its otpauth URI and QR code",
    response=TwoFactorSetup,
    auth=True,
    errors=(409,),
)
async def setup_2fa(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    return json_response(await twofactor.setup(svc, who.user))


@router.post(
    "/users/me/2fa/enable",
    "Confirm the secret with a code; returns ten single-use recovery codes, shown once",
    body=TwoFactorCode,
    response=RecoveryCodes,
    auth=True,
    errors=(401, 409, 429),
)
async def enable_2fa(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, TwoFactorCode, svc.settings.max_body_bytes)
    codes = await twofactor.enable(svc, who.user, req.code)
    return json_response(RecoveryCodes(recovery_codes=codes))


@router.post(
    "/users/me/2fa/disable",
    "Turn two-factor sign-in off (password and a current or recovery code)",
    body=DisableTwoFactor,
    status=204,
    auth=True,
    errors=(401, 429),
)
async def disable_2fa(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, DisableTwoFactor, svc.settings.max_body_bytes)
    await twofactor.disable(svc, who.user, req.password, req.code)
    return Response(status_code=204)


@router.get(
    "/users/me/export",
    "Download everything the account owns as a zip (streamed; application/zip)",
    auth=True,
    errors=(429,),
)
async def export_data(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    await svc.limits.hit(svc.settings.rate_limit_export, "export", who.id)
    user = await accounts.current_user(svc, who)
    name = f"murmur-{user.user_name}.zip"
    return StreamingResponse(
        export.archive(svc, user),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
