"""Request id and access log, as plain ASGI so it wraps everything, errors included; an empty
body read as ``{}`` where every field of the body is optional."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import msgspec
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from jivapay.logs import request_id_var

log = logging.getLogger("jivapay.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})


class RequestContextMiddleware:
    """Takes a sane ``X-Request-ID`` or makes one; echoes it; logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = masked_path(scope.get("path", ""))
            level = logging.DEBUG if path in _QUIET_PATHS and status < 500 else logging.INFO
            log.log(
                level,
                "%s %s %s",
                scope.get("method"),
                path,
                status,
                extra={"status": status, "ms": round((time.perf_counter() - started) * 1000, 2)},
            )
            request_id_var.reset(token)


_PAYMENT_PAGE = re.compile(r"^/pay/[^/]+")


def masked_path(path: str) -> str:
    """The path as logs show it: a payment page's token (it opens the order) replaced."""
    return _PAYMENT_PAGE.sub("/pay/<token>", path)


def body_is_optional(handler: Any) -> bool:
    """The handler takes a JSON body (``data``) that is a msgspec Struct whose fields all have defaults."""
    if not isinstance(handler, HTTPRouteHandler):
        return False
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None or getattr(data.kwarg_definition, "media_type", None) not in (None, RequestEncodingType.JSON):
        return False
    try:
        info = msgspec.inspect.type_info(data.annotation)
    except (TypeError, ValueError):  # not a type msgspec knows: not ours to judge
        return False
    return isinstance(info, msgspec.inspect.StructType) and not any(field.required for field in info.fields)


class OptionalBodyMiddleware:
    """A request with no body, to a route whose body has only optional fields, reads as ``{}``.

    Litestar refuses an empty body whenever the handler declares one; a cancel with no reason, a
    logout without a refresh token or a PATCH that changes nothing is not a malformed request.
    Route middleware: Litestar has put the matched handler in the scope.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._optional: dict[int, tuple[Any, bool]] = {}  # id(handler) → (handler, answer)

    def _applies(self, handler: Any) -> bool:
        known = self._optional.get(id(handler))
        if known is None or known[0] is not handler:
            known = self._optional[id(handler)] = (handler, body_is_optional(handler))
        return known[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(scope.get("route_handler")):  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        first = await receive()
        if first["type"] == "http.request" and not first.get("body") and not first.get("more_body", False):
            first = {"type": "http.request", "body": b"{}", "more_body": False}
        pending: list[ReceiveMessage] = [first]

        async def replay() -> ReceiveMessage:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)
