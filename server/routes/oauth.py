"""/auth/oauth/github: sign in with GitHub (start, then the provider's callback)."""

from __future__ import annotations

from urllib.parse import urlencode

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import oauth
from ..accounts import Client, SecondFactorRequired, start_session
from ..api import Param, Router
from ..errors import ApiError, Unprocessable
from ..http import json_response
from ..models import TokenPair
from ..services import services

router = Router("auth")


class OAuthProviders(BaseModel):
    """Which sign-in providers this server has configured (clients show only those)."""

    github: bool


@router.get(
    "/auth/oauth/providers",
    "Which sign-in providers are configured (the web client shows only those)",
    response=OAuthProviders,
)
async def providers(request: Request) -> Response:
    return json_response(OAuthProviders(github=oauth.configured(services(request).settings)))


@router.get(
    "/auth/oauth/github/start",
    "Redirect to GitHub to sign in (mode=web: the callback redirects to /#tokens)",
    status=302,
    params=(
        Param("mode", "'json' (default): the callback answers with tokens; 'web'"),
        Param("nonce", "web mode: the client's random nonce, echoed in the final fragment"),
    ),
    errors=(400, 404, 422),
)
async def github_start(request: Request) -> Response:
    svc = services(request)
    mode = request.query_params.get("mode", "json")
    if mode not in ("json", "web"):
        raise Unprocessable("mode must be 'json' or 'web'.", details=[{"field": "mode"}])
    nonce = request.query_params.get("nonce")
    started = await oauth.start(svc, "web" if mode == "web" else "json", nonce)
    response = RedirectResponse(started.url, status_code=302)
    response.set_cookie(
        oauth.BROWSER_COOKIE,
        started.browser_key,
        max_age=int(oauth.STATE_TTL.total_seconds()),
        path=oauth.COOKIE_PATH,
        secure=svc.settings.public_base_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


@router.get(
    "/auth/oauth/github/callback",
    "GitHub sends the browser back here; answers with tokens (or redirects, mode=web)",
    response=TokenPair,
    params=(Param("code"), Param("state", required=True), Param("error")),
    errors=(400, 403, 404, 409, 502),
)
async def github_callback(request: Request) -> Response:
    browser_key = request.cookies.get(oauth.BROWSER_COOKIE)
    params = dict(request.query_params)
    try:
        svc = services(request)
        done = await oauth.finish(svc, params, browser_key)
        tokens = await start_session(svc, done.user, Client.of(request))
    except ApiError as exc:
        if not _browser_navigation(request):
            raise
        # A person in a browser gets the sign-in page with the reason, not a JSON body (and,
        # with 2FA on, the challenge the sign-in page asks the code for).
        fields = {"oauth_error": exc.code, "message": exc.message}
        if isinstance(exc, SecondFactorRequired):
            fields["challenge"] = exc.details[0]["challenge"]
        reason = urlencode(fields)
        return RedirectResponse(f"/login#{reason}", status_code=302)
    if done.mode == "web":
        # The fragment never reaches a server or a log; the web client reads and clears it.
        # The nonce lets the client accept these tokens only for a sign-in it started.
        fragment = urlencode(
            {
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "expires_in": tokens.expires_in,
                "nonce": done.nonce or "",
            }
        )
        response: Response = RedirectResponse(f"/#{fragment}", status_code=302)
    else:
        response = json_response(tokens)
    response.delete_cookie(oauth.BROWSER_COOKIE, path=oauth.COOKIE_PATH)
    return response


def _browser_navigation(request: Request) -> bool:
    """A top-level page load (the provider redirected a browser here), not an API call."""
    return "text/html" in request.headers.get("accept", "")
