"""Route decorators for a group of handlers that share an OpenAPI tag and, often, guards.

``admin_routes = RouteGroup("admin", guards=USERS)`` and then ``@admin_routes.post(path, ...)``
is ``@post(path, tags=["admin"], guards=USERS, ...)``: the group says once what every one of its
routes repeated. An option one route gives itself (``guards=``) replaces the group's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import litestar
from litestar.handlers import HTTPRouteHandler

from jivapay.http.guards import Guard


class RouteGroup:
    def __init__(self, tag: str, *, guards: Sequence[Guard] = ()) -> None:
        self.tag = tag
        self.guards = tuple(guards)

    def _options(self, options: dict[str, Any]) -> dict[str, Any]:
        shared: dict[str, Any] = {"tags": [self.tag]}
        if self.guards:
            shared["guards"] = list(self.guards)
        return {**shared, **options}

    def get(self, path: str, **options: Any) -> HTTPRouteHandler:
        return litestar.get(path, **self._options(options))

    def post(self, path: str, **options: Any) -> HTTPRouteHandler:
        return litestar.post(path, **self._options(options))

    def put(self, path: str, **options: Any) -> HTTPRouteHandler:
        return litestar.put(path, **self._options(options))

    def patch(self, path: str, **options: Any) -> HTTPRouteHandler:
        return litestar.patch(path, **self._options(options))

    def delete(self, path: str, **options: Any) -> HTTPRouteHandler:
        return litestar.delete(path, **self._options(options))
