"""Health checks and the API description."""

from __future__ import annotations

import pymongo
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from ..api import Router
from ..errors import Unavailable
from ..http import json_response
from ..models import Health
from ..services import services

router = Router("meta")

READY_TIMEOUT_SECONDS = 2.0


@router.get("/healthz", "The process is up", response=Health)
async def healthz(request: Request) -> Response:
    return json_response(Health(status="ok"))


@router.get("/readyz", "The database answers (503 otherwise)", response=Health, errors=(503,))
async def readyz(request: Request) -> Response:
    svc = services(request)
    try:
        # Bounded: a probe must answer quickly, not wait out the driver's server selection.
        # pymongo's own timeout, not a task cancellation: cancelling the driver mid-connect
        # can leave its socket unclosed.
        with pymongo.timeout(READY_TIMEOUT_SECONDS):
            await svc.db.command("ping")
    except Exception as exc:
        raise Unavailable("The database is not reachable.", code="database_unavailable") from exc
    return json_response(Health(status="ok", database="ok"))


async def openapi_json(request: Request) -> Response:
    """The REST API's OpenAPI 3.1 document."""
    return JSONResponse(request.app.state.openapi)


async def asyncapi_json(request: Request) -> Response:
    """The WebSocket protocol's AsyncAPI 3.0 document."""
    return JSONResponse(request.app.state.asyncapi)


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Murmur API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/docs.css"></head>
<body><main id="docs"><h1>Murmur API</h1><p>Loading…</p></main>
<script type="module" src="/static/docs.js"></script></body></html>"""


async def docs(request: Request) -> Response:
    return HTMLResponse(_DOCS_PAGE)
