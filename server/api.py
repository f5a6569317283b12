"""Route declarations that carry their schemas, so one source feeds routing and OpenAPI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Param:
    name: str
    description: str = ""
    type: str = "string"
    required: bool = False
    location: str = "query"


# Parameters many routes share.
TWEET_ID = Param("tweet_id", location="path", required=True)
USER_ID = Param("user_id", location="path", required=True)
LIMIT = Param("limit", "1–100, default 20", type="integer")
CURSOR = Param("cursor", "opaque; from next_cursor of the previous page (or the Link header)")
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "any unique string (at most 255 characters): a retry with the same key within 24 hours "
    "returns the first result instead of posting again",
    location="header",
)
PAGING = (
    LIMIT,
    CURSOR,
    Param("page", "1-based page number (when no cursor is given)", type="integer"),
)


@dataclass(frozen=True)
class Spec:
    summary: str
    tag: str
    status: int = 200
    body: type[BaseModel] | None = None
    body_required: bool = True
    response: Any = None
    auth: bool = False
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    etag: bool = False  # answers with an ETag and honours If-None-Match (304)
    body_media: str = "application/json"  # or multipart/form-data (POST /media)
    response_media: str = "application/json"  # or image/* (bytes, no model)
    ranges: bool = False  # honours Range: 206 Partial Content


class ApiRoute(Route):
    def __init__(self, path: str, endpoint: Handler, method: str, spec: Spec) -> None:
        super().__init__(path, endpoint, methods=[method], name=endpoint.__name__)
        self.method = method
        self.spec = spec


@dataclass
class Router:
    """Collects a resource's routes: ``@router.post("/tweets", ...)``."""

    tag: str
    routes: list[Route] = field(default_factory=list)

    def _add(
        self, method: str, path: str, summary: str, **spec: Any
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.routes.append(ApiRoute(path, fn, method, Spec(summary, self.tag, **spec)))
            return fn

        return register

    def get(self, path: str, summary: str, **spec: Any) -> Callable[[Handler], Handler]:
        return self._add("GET", path, summary, **spec)

    def post(self, path: str, summary: str, **spec: Any) -> Callable[[Handler], Handler]:
        return self._add("POST", path, summary, **spec)

    def patch(self, path: str, summary: str, **spec: Any) -> Callable[[Handler], Handler]:
        return self._add("PATCH", path, summary, **spec)

    def delete(self, path: str, summary: str, **spec: Any) -> Callable[[Handler], Handler]:
        return self._add("DELETE", path, summary, **spec)
