"""Sign in with GitHub: OAuth 2.0 authorization code with PKCE (S256) and a one-time ``state``.

``start`` stores the state (as an HMAC) with its PKCE verifier and returns the provider's
authorize URL. ``finish`` consumes the state (so a replayed callback fails), trades the code
for a token, reads the user and their verified e-mails, then finds the linked account, links
the one with the same e-mail if it verified it (an unverified one is deleted: it proved
nothing), or creates one (the provider verified the address); the route signs it in with
``accounts.start_session`` like every sign-in, so with 2FA on GitHub too ends in its challenge.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from . import signup
from .errors import ApiError, BadRequest, Conflict, Forbidden
from .models import UserMetadata
from .security import keyed_hash
from .services import Services
from .settings import Settings
from .store import oauth as oauth_store
from .store import sessions as session_store
from .store import users as user_store
from .store.users import UserRecord

log = logging.getLogger("murmur.oauth")

STATE_TTL = timedelta(minutes=10)
SCOPE = "read:user user:email"
Mode = Literal["json", "web"]


class NotConfigured(ApiError):
    # 404, not 503: a feature switched off is not the server failing (monitoring pages on 5xx).
    status, code = 404, "oauth_not_configured"


class ProviderFailed(ApiError):
    status, code = 502, "oauth_provider_error"


# The cookie that binds a sign-in to the browser that started it (login CSRF): HttpOnly,
# SameSite=Lax (sent on GitHub's top-level redirect back), scoped to the callback's path.
BROWSER_COOKIE = "murmur_oauth"
COOKIE_PATH = "/auth/oauth/github"
# The web client's own nonce, echoed in the final fragment so it accepts only flows it began.
NONCE_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")


@dataclass(frozen=True)
class Started:
    url: str
    browser_key: str  # the cookie's value


@dataclass(frozen=True)
class Finished:
    user: UserRecord
    mode: Mode
    nonce: str | None = None


def callback_url(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + "/auth/oauth/github/callback"


def configured(settings: Settings) -> bool:
    """True when sign-in with GitHub can work: a client id and secret are set."""
    return bool(settings.github_client_id and settings.github_client_secret)


def _credentials(settings: Settings) -> tuple[str, str]:
    if not (settings.github_client_id and settings.github_client_secret):
        raise NotConfigured("Sign-in with GitHub is not configured on this server.")
    return settings.github_client_id, settings.github_client_secret


def _state_hash(svc: Services, state: str) -> str:
    return keyed_hash(svc.keys.oauth, f"oauth-state:{state}")


async def start(svc: Services, mode: Mode, nonce: str | None = None) -> Started:
    """Remember a fresh state, PKCE verifier and browser key; where to send the browser.

    The browser key goes into a cookie; the callback must come with it (in ``web`` mode), so
    a callback link made by someone else's sign-in cannot sign this browser in to their
    account. ``nonce`` is the web client's, handed back with the tokens.
    """
    settings = svc.settings
    client_id, _ = _credentials(settings)
    if mode == "web" and (nonce is None or not NONCE_SHAPE.fullmatch(nonce)):
        raise BadRequest(
            "Web sign-in needs the client's nonce (16–128 letters, digits, '-' or '_').",
            code="oauth_nonce_missing",
            details=[{"field": "nonce"}],
        )
    verifier = generate_token(64)
    state = secrets.token_urlsafe(32)
    browser_key = secrets.token_urlsafe(32)
    url = add_params_to_uri(
        settings.github_authorize_url,
        [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", callback_url(settings)),
            ("scope", SCOPE),
            ("state", state),
            ("code_challenge", create_s256_code_challenge(verifier)),
            ("code_challenge_method", "S256"),
        ],
    )
    await oauth_store.put_state(
        svc.db,
        state_hash=_state_hash(svc, state),
        code_verifier=verifier,
        mode=mode,
        expires_at=svc.clock() + STATE_TTL,
        browser_hash=_browser_hash(svc, browser_key),
        nonce=nonce if mode == "web" else None,
    )
    return Started(str(url), browser_key)


def _browser_hash(svc: Services, browser_key: str) -> str:
    return keyed_hash(svc.keys.oauth, f"oauth-browser:{browser_key}")


async def finish(svc: Services, params: dict[str, str], browser_key: str | None) -> Finished:
    """Handle the provider's redirect back; every failure is a clear 4xx (or 502).

    ``browser_key`` is the cookie the browser brought; a ``web`` sign-in without the one its
    start set is refused (the JSON mode hands tokens to the caller and sets no session).
    """
    _credentials(svc.settings)
    state = params.get("state", "")
    stored = (
        await oauth_store.take_state(svc.db, state_hash=_state_hash(svc, state)) if state else None
    )
    if stored is None:
        raise BadRequest(
            "This sign-in link is not valid or was already used; start again.",
            code="oauth_state_invalid",
        )
    if stored["expires_at"] <= svc.clock():
        raise BadRequest("This sign-in took too long; start again.", code="oauth_state_expired")
    mode: Mode = "web" if stored.get("mode") == "web" else "json"
    if mode == "web" and not (
        browser_key
        and hmac.compare_digest(stored.get("browser_hash", ""), _browser_hash(svc, browser_key))
    ):
        # Someone else's sign-in link: finishing it would put this browser in their account.
        raise BadRequest(
            "This sign-in was started in another browser; start again here.",
            code="oauth_browser_mismatch",
        )
    if params.get("error"):
        detail = params.get("error_description") or params["error"]
        raise BadRequest(
            f"GitHub did not sign you in: {detail}.",
            code="oauth_denied",
            details=[{"error": params["error"]}],
        )
    code = params.get("code")
    if not code:
        raise BadRequest("The callback carries no code.", code="oauth_code_missing")
    async with httpx.AsyncClient(timeout=10.0, headers={"Accept": "application/json"}) as http:
        profile, emails = await _exchange(svc.settings, http, code, stored["code_verifier"])
    user = await _account(svc, profile, emails)
    if user.suspended:
        raise Forbidden("This account is suspended.", code="account_suspended")
    return Finished(user, mode, stored.get("nonce"))


async def _exchange(
    settings: Settings, http: httpx.AsyncClient, code: str, verifier: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    client_id, client_secret = _credentials(settings)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": callback_url(settings),
        "client_id": client_id,
        "client_secret": client_secret,
        "code_verifier": verifier,
    }
    try:
        r = await http.post(settings.github_token_url, data=form)
        body = r.json() if r.status_code < 500 else None
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderFailed("Could not reach GitHub to finish signing in.") from exc
    if not isinstance(body, dict):
        raise ProviderFailed("GitHub did not answer the sign-in code.")
    token = body.get("access_token")
    if r.status_code >= 400 or body.get("error") or not isinstance(token, str):
        # A used, expired or forged code: GitHub says e.g. bad_verification_code.
        raise BadRequest(
            "GitHub refused the sign-in code; start again.",
            code="oauth_code_rejected",
            details=[{"error": str(body.get("error") or r.status_code)}],
        )
    api = settings.github_api_url.rstrip("/")
    auth = {"Authorization": f"Bearer {token}"}
    try:
        r_user = await http.get(f"{api}/user", headers=auth)
        r_emails = await http.get(f"{api}/user/emails", headers=auth)
        r_user.raise_for_status()
        r_emails.raise_for_status()
        profile, emails = r_user.json(), r_emails.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderFailed("GitHub did not return your profile.") from exc
    if not isinstance(profile, dict) or "id" not in profile or not isinstance(emails, list):
        raise ProviderFailed("GitHub returned a profile Murmur does not understand.")
    return profile, [e for e in emails if isinstance(e, dict)]


def _verified_email(emails: list[dict[str, Any]]) -> str | None:
    verified = [e for e in emails if e.get("verified") and isinstance(e.get("email"), str)]
    verified.sort(key=lambda e: not e.get("primary"))  # the primary address first
    return verified[0]["email"] if verified else None


async def _account(
    svc: Services, profile: dict[str, Any], emails: list[dict[str, Any]]
) -> UserRecord:
    github_id = int(profile["id"])
    user = await user_store.by_github_id(svc.db, github_id=github_id)
    if user is not None:
        return user
    email = _verified_email(emails)
    if email is None:
        raise Forbidden(
            "Your GitHub account has no verified e-mail address; verify one there first.",
            code="oauth_email_unverified",
        )
    user = await user_store.by_email(svc.db, email=email)
    if user is not None and not user.email_verified:
        user = await _drop_unproven_claim(svc, user, email)
    if user is not None:
        # Linked only when the account proved it owns the address, and never re-linked:
        # otherwise whoever signed up first with someone's address would receive them.
        if not await user_store.link_github(svc.db, user_id=user.id, github_id=github_id):
            raise Conflict(
                "An account with this e-mail address is already linked to another GitHub "
                "account; sign in with its password.",
                code="oauth_email_in_use",
            )
        log.info("linked GitHub account %s to %s", github_id, user.user_name)
        return user
    name = await _free_name(svc, str(profile.get("login") or "github"))
    display = profile.get("name") if isinstance(profile.get("name"), str) else None
    return await user_store.create(
        svc.db,
        user_name=name,
        email=email,
        password_hash=None,
        metadata=UserMetadata(display_name=(display or name)[:50]),
        now=svc.clock(),
        email_verified=True,
        # GitHub verified the address, so a listed one may hold its configured role.
        role=signup.configured_role(svc, email),
        extra={"github_id": github_id},
    )


async def _drop_unproven_claim(svc: Services, user: UserRecord, email: str) -> UserRecord | None:
    """Delete an unverified account that holds a GitHub-verified address.

    Anyone can sign up with any address; until the code is confirmed nobody has shown they
    own it, and such an account cannot have signed in (sign-in needs a verified address). The
    GitHub user has shown it, so the claim goes (with its password and any pending code) and
    a fresh account is created for them. If it was verified meanwhile, it is linked instead.
    """
    if await user_store.delete_unverified(svc.db, user_id=user.id):
        await session_store.delete_otp(svc.db, user_id=user.id)
        await session_store.revoke_user_sessions(svc.db, user_id=user.id, now=svc.clock())
        log.warning("deleted unverified account %s: GitHub verified its e-mail address", user.id)
    return await user_store.by_email(svc.db, email=email)


async def _free_name(svc: Services, login: str) -> str:
    """The GitHub login as a Murmur user name, with a suffix when it is taken."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", login)[:24].ljust(3, "_")
    name = base
    for _ in range(20):
        if not await user_store.name_taken(svc.db, user_name=name):
            return name
        name = f"{base}_{secrets.randbelow(100_000)}"
    raise BadRequest("Could not find a free user name; sign up instead.", code="user_name_taken")
