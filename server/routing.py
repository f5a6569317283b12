"""Starlette's router, asked first only about the routes that can match a fixed path.

Starlette tries every route's regular expression in turn until one matches: with the API's
hundred-odd routes that was a twentieth of a warm ``GET /tweets/following``'s CPU. For each
path that a route names without parameters (``/tweets/following``, ``/users/me``) the routes
whose pattern matches it are known in advance, in their order; such a request goes to a
router of just those, which decides exactly as the whole list would (the first full match
wins, else the first partial one answers 405). Any other path goes to the routes whose
path starts with its first segment (``/tweets/{id}``: the ``/tweets/...`` routes) or with a
parameter: a route whose first segment is another word cannot match it.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Router, get_route_path
from starlette.types import Receive, Scope, Send


class IndexedRouter(Router):
    _narrowed: dict[str, Router] | None = None
    _by_segment: dict[str | None, Router] = {}
    _indexed_routes = -1

    def _index(self) -> dict[str, Router]:
        if self._narrowed is None or self._indexed_routes != len(self.routes):
            fixed = {path for r in self.routes if (path := _fixed_path(r)) is not None}
            self._narrowed = {
                path: self._of([r for r in self.routes if _can_match(r, path)]) for path in fixed
            }
            # Keyed by the routes' own words only (None: any other), so requests cannot grow it.
            segments = {_segment(r) for r in self.routes} - {None}
            self._by_segment = {
                s: self._of([r for r in self.routes if _segment(r) in (s, None)])
                for s in [*segments, None]
            }
            self._indexed_routes = len(self.routes)
        return self._narrowed

    def _of(self, routes: list[BaseRoute]) -> Router:
        return Router(routes, redirect_slashes=self.redirect_slashes, default=self.default)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = get_route_path(scope)
            narrow = self._index().get(path)
            if narrow is None:
                first = _first_segment(path)
                narrow = self._by_segment.get(first, self._by_segment[None])
            scope.setdefault("router", self)
            await narrow.app(scope, receive, send)
            return
        await super().app(scope, receive, send)


def _fixed_path(route: BaseRoute) -> str | None:
    """The path a route names when it has no parameters (a mount never: its apps decide)."""
    convertors = getattr(route, "param_convertors", None)
    path = getattr(route, "path", None)
    if convertors == {} and isinstance(path, str) and hasattr(route, "methods"):
        return path
    return None


def _first_segment(path: str) -> str:
    """``/tweets/abc`` -> ``tweets``; ``/`` -> ``""``."""
    return path.split("/", 2)[1] if path.startswith("/") else ""


def _segment(route: BaseRoute) -> str | None:
    """The word a route's path starts with, or None when it may match any first segment (a
    parameter there, the root, a mount at the root, no path)."""
    path = getattr(route, "path", None)
    first = _first_segment(path) if isinstance(path, str) else ""
    return first if first and "{" not in first else None


def _can_match(route: BaseRoute, path: str) -> bool:
    regex = getattr(route, "path_regex", None)
    return regex is None or regex.match(path) is not None
