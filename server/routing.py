"""Starlette's router, asked first only about the routes that can match a fixed path.

Starlette tries every route's regular expression in turn until one matches: with the API's
hundred-odd routes that was a twentieth of a warm ``GET /tweets/following``'s CPU. For each
path that a route names without parameters (``/tweets/following``, ``/users/me``) the routes
whose pattern matches it are known in advance, in their order; such a request goes to a
router of just those, which decides exactly as the whole list would (the first full match
wins, else the first partial one answers 405). Any other path takes the whole list.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Router, get_route_path
from starlette.types import Receive, Scope, Send


class IndexedRouter(Router):
    _narrowed: dict[str, Router] | None = None
    _indexed_routes = -1

    def _index(self) -> dict[str, Router]:
        if self._narrowed is None or self._indexed_routes != len(self.routes):
            fixed = {path for r in self.routes if (path := _fixed_path(r)) is not None}
            self._narrowed = {
                path: Router(
                    [r for r in self.routes if _can_match(r, path)],
                    redirect_slashes=self.redirect_slashes,
                    default=self.default,
                )
                for path in fixed
            }
            self._indexed_routes = len(self.routes)
        return self._narrowed

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (narrow := self._index().get(get_route_path(scope))):
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


def _can_match(route: BaseRoute, path: str) -> bool:
    regex = getattr(route, "path_regex", None)
    return regex is None or regex.match(path) is not None
