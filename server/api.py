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
