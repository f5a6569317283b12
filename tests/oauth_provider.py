"""A small GitHub-like OAuth 2.0 provider for tests, served by uvicorn on a free local port.

It checks what GitHub checks: the client id and secret, the redirect URI, PKCE (S256), and
that a code is used once; ``/api/user`` and ``/api/user/emails`` answer for the token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from server.embedded import free_port

CLIENT_ID = "murmur-test-client"
CLIENT_SECRET = "murmur-test-secret"


class FakeGitHub:
    def __init__(self) -> None:
        self.port = free_port()
        self.profile: dict[str, Any] = {"id": 4242, "login": "octo-cat", "name": "Octo Cat"}
        self.emails: list[dict[str, Any]] = [
            {"email": "octo@example.com", "primary": True, "verified": True}
        ]
        self.deny = False
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        app = Starlette(
            routes=[
                Route("/login/oauth/authorize", self.authorize),
                Route("/login/oauth/access_token", self.access_token, methods=["POST"]),
                Route("/api/user", self.user),
                Route("/api/user/emails", self.user_emails),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="none"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeGitHub:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake GitHub did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "bad request"}, status_code=400)
        back = q["redirect_uri"]
        if self.deny:
            params = {"error": "access_denied", "error_description": "The user said no"}
            return RedirectResponse(f"{back}?{urlencode({**params, 'state': q['state']})}")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": back, "used": False}
        return RedirectResponse(f"{back}?{urlencode({'code': code, 'state': q['state']})}")

    async def access_token(self, request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart, which Murmur lacks.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        basic = request.headers.get("authorization", "")
        creds = (form.get("client_id"), form.get("client_secret"))
        if basic.startswith("Basic "):
            creds = tuple(base64.b64decode(basic[6:]).decode().split(":", 1))  # type: ignore[assignment]
        if creds != (CLIENT_ID, CLIENT_SECRET):
            return JSONResponse({"error": "incorrect_client_credentials"})
        grant = self.codes.get(str(form.get("code")))
        verifier = str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        # GitHub answers 200 with an "error" field for a bad code.
        if grant is None or grant["used"]:
            return JSONResponse({"error": "bad_verification_code"})
        grant["used"] = True
        if digest.decode().rstrip("=") != grant["challenge"]:
            return JSONResponse({"error": "bad_verification_code"})
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "redirect_uri_mismatch"})
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "bearer", "scope": "user:email"})

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.lower().startswith("bearer ") and header[7:] in self.tokens

    async def user(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(self.profile)

    async def user_emails(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(self.emails)
