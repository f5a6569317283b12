"""Serving the browser client: ``web/index.html`` for the client's own page addresses.

The client routes its pages in the browser (``/@alice``, ``/tweets/<id>``, ``/notifications``),
and some of those addresses are also API paths. A browser that *navigates* there asks for
HTML (``Accept: text/html``); API clients ask for JSON or anything. So the page is served
only for GET/HEAD requests that prefer HTML and whose path is one of the client's pages;
everything else, including unknown API paths, reaches the API untouched (and its JSON 404).
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse
from starlette.types import ASGIApp, Receive, Scope, Send

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# The client's pages (see web/static/app.js, which routes the same patterns).
CLIENT_PATHS = re.compile(
    r"""^/(?:
        | login | signup | verify | public | notifications | search | operator | moderation
        | settings | settings/security | forgot | reset
        | messages | messages/[A-Za-z0-9_-]{1,64}
        | @[A-Za-z0-9_]{1,30}(?:/(?:followers|following))?
        | tweets/[A-Za-z0-9_-]{1,64}
        | tags/[^/]{1,100}
        | bookmarks
    )/?$""",
    re.VERBOSE,
)


def wants_html(headers: Headers) -> bool:
    """True when the request is a page load: HTML is accepted and JSON is not preferred."""
    accept = headers.get("accept", "")
    return "text/html" in accept and not accept.lstrip().startswith("application/json")


class ClientPages:
    """ASGI middleware: answer page loads of client routes with ``web/index.html``."""

    def __init__(self, app: ASGIApp, index: Path = WEB_DIR / "index.html") -> None:
        self.app = app
        self.index = index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and CLIENT_PATHS.match(scope["path"])
            and wants_html(Headers(scope=scope))
        ):
            # The same address answers JSON to API clients, so caches must key on Accept.
            page = FileResponse(self.index, headers={"Vary": "Accept", "Cache-Control": "no-cache"})
            await page(scope, receive, send)
            return
        await self.app(scope, receive, send)
