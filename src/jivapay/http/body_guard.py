"""A JSON body is checked before anything decodes it: its Content-Type, its size, its depth and
its keys.

Litestar decodes a route's body as JSON whatever the Content-Type says, msgspec keeps the last
of two equal keys (``{"amount": "1", "amount": "2"}`` is 2 for us and maybe 1 for a proxy or a
log reader) and deep nesting ends in a recursion error (a 500). Here, for routes whose handler
takes a JSON body (``data``), a non-empty body must be ``application/json`` or
``application/*+json`` (415 otherwise), at most ``MAX_JSON_BODY_BYTES`` (413), nested at most
``MAX_JSON_DEPTH`` levels and without a repeated key in any object (422 ``invalid_body``).
Uploads (multipart), forms (login) and routes without a body are left alone; an empty body is
passed on as it is (OptionalBodyMiddleware, inside this one, may read it as ``{}``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from jivapay.domain.errors import JivaPayError, ValidationFailed

MAX_JSON_BODY_BYTES = 1024 * 1024  # the largest JSON body of the API (a long blocklist) is far smaller
MAX_JSON_DEPTH = 32

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)  # one alternative per byte: no backtracking blow-up
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class UnsupportedMediaType(
    JivaPayError,
    code="unsupported_media_type",
    status=415,
    message="The body must be JSON, sent as Content-Type: application/json",
):
    pass


class BodyTooLarge(JivaPayError, code="payload_too_large", status=413, message="The body is too large"):
    pass


class InvalidBody(ValidationFailed, code="invalid_body"):
    """A body that is JSON but ambiguous or absurd: refused before it is decoded."""


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def takes_json_body(handler: Any) -> bool:
    """The handler declares a JSON body (``data``): not a form, an upload or no body at all."""
    if not isinstance(handler, HTTPRouteHandler):
        return False
    data = handler.parsed_fn_signature.parameters.get("data")
    return data is not None and getattr(data.kwarg_definition, "media_type", None) in (None, RequestEncodingType.JSON)


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or (subtype.endswith("+json") and len(subtype) > 5))


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Arrays and objects nest deeper than ``limit`` (strings do not count). Each round removes
    the innermost pairs, in C: the rounds needed are the depth."""
    brackets = _STRING.sub(b"", body).translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(limit):
        if b"()" not in brackets:
            break
        brackets = brackets.replace(b"()", b"")
    # left: pairs deeper than the limit, or brackets never closed (the opening ones nest all the same)
    return b"()" in brackets or brackets.count(b"(") > limit


def _unique_pairs(pairs: list[tuple[str, Any]]) -> None:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen.add(key)


def repeated_key(body: bytes) -> str | None:
    """The first key an object of ``body`` has twice; None when there is none or the body is not JSON
    (then the decoder reports it). Call it on bodies ``too_deep`` has passed."""
    try:
        json.loads(body, object_pairs_hook=_unique_pairs, parse_int=len, parse_float=len, parse_constant=len)
    except _RepeatedKey as exc:
        return exc.key
    except ValueError:  # not JSON, not UTF-8, an absurd number: the decoder's 422
        return None
    return None


def check_json_body(content_type: str, body: bytes) -> None:
    """Raise the error a non-empty JSON body deserves, if any."""
    if not is_json_media_type(content_type):
        raise UnsupportedMediaType(content_type=content_type[:100] or None, expected="application/json")
    if too_deep(body):
        raise InvalidBody(f"the body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels", field=None)
    key = repeated_key(body)
    if key is not None:
        raise InvalidBody(f"the key {key[:100]!r} appears twice in one object", field=None)


class BodyGuardMiddleware:
    """Route middleware (Litestar has put the matched handler in the scope); errors raised here
    reach the app's exception handlers, so they have the documented body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._json_routes: dict[int, tuple[Any, bool]] = {}  # id(handler) → (handler, answer)

    def _applies(self, handler: Any) -> bool:
        known = self._json_routes.get(id(handler))
        if known is None or known[0] is not handler:
            known = self._json_routes[id(handler)] = (handler, takes_json_body(handler))
        return known[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(scope.get("route_handler")):  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value.decode("latin-1") for name, value in scope["headers"]}
        declared = headers.get(b"content-length", "").strip()
        if declared.isdigit() and int(declared) > MAX_JSON_BODY_BYTES:
            raise BodyTooLarge(max_bytes=MAX_JSON_BODY_BYTES)
        body = await _read_body(receive)
        if body is None:  # the client went away before sending it all: nobody to answer
            return
        if body:
            check_json_body(headers.get(b"content-type", ""), body)
        pending: list[ReceiveMessage] = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> ReceiveMessage:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_JSON_BODY_BYTES:
            raise BodyTooLarge(max_bytes=MAX_JSON_BODY_BYTES)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
