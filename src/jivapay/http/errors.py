"""One map from exceptions to the error body of the public contract.

``{"error": {"code", "message", "details"}, "request_id"}`` — for our own errors, for
Litestar's (validation, routing, auth), and for bugs (500, reported, no internals leaked).
Every validation error — ours, Litestar's, a body that is not JSON — is a 422 whose details
hold ``errors: [{"field", "message"}]``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import ClientException, HTTPException, SerializationException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from jivapay.adapters.cache import cache_outage
from jivapay.adapters.db.errors import database_outage
from jivapay.adapters.notifications import report_critical_error
from jivapay.domain.errors import JivaPayError, field_error, validation_details
from jivapay.logs import request_id_var

log = logging.getLogger("jivapay.http")

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "service_unavailable",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The public contract's error body, with this request's id."""
    return {"error": {"code": code, "message": message, "details": details or {}}, "request_id": request_id_var.get()}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    body = error_body(code, message, details)
    return Response(content=body, status_code=status, media_type=MediaType.JSON, headers=headers)


def _jivapay_error(_: Request[Any, Any, Any], exc: JivaPayError) -> Response[dict[str, Any]]:
    if exc.status_code >= 500:
        report_critical_error(exc, "request failed with a server-side error", code=exc.code)
    waits = exc.status_code in (423, 429, 503) or exc.code == "ip_blocked"
    retry_after = exc.details.get("retry_after") if waits else None
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers=headers)


# msgspec names the field in the message when the problem is the object around it
_NAMED_FIELD = re.compile(r"^Object (?:missing required|contains unknown) field `([^`]+)`")
_BODY = "data"  # Litestar's name for the request body


def field_errors(extra: Any) -> list[dict[str, Any]]:
    """Litestar's ``[{"message", "key", "source"}]`` as ``[{"field", "message"}]``: ``field`` is
    the body field (dotted when nested), query or path parameter or header; None for the body
    as a whole."""
    items = extra if isinstance(extra, list) else ([extra] if extra else [])
    errors = []
    for item in items:
        if not isinstance(item, dict):
            errors.append(field_error(None, str(item)))
            continue
        key, message = item.get("key"), str(item.get("message", ""))
        field = None if key in (None, _BODY) else str(key)
        if named := _NAMED_FIELD.match(message):
            field = f"{field}.{named.group(1)}" if field else named.group(1)
        elif key == _BODY and message == repr(_BODY):  # what Litestar says when there is no body at all
            message = "this request needs a JSON body"
        errors.append(field_error(field, message))
    return errors


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    # Litestar says 400; the contract says 422 for a request that parsed but is not valid
    message = exc.detail or "The request is not valid"
    errors = field_errors(exc.extra) or [field_error(None, message)]
    return error_response(422, "validation_failed", message, validation_details(errors))


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ClientException) and isinstance(exc.__cause__, SerializationException):
        # the body could not be decoded at all (not JSON): a validation error of the body as a whole
        message = exc.detail or "the body could not be decoded"
        return error_response(422, "validation_failed", message, validation_details([field_error(None, message)]))
    status = exc.status_code
    if status >= 500:
        report_critical_error(exc, "HTTP 5xx raised by the framework")
    code = _CODES_BY_STATUS.get(status, "http_error" if status < 500 else "internal_error")
    details = exc.extra if isinstance(exc.extra, dict) else ({"info": exc.extra} if exc.extra else {})
    return error_response(status, code, exc.detail, details, headers=exc.headers)


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # a database or Redis outage met outside a unit of work (a guard's read, a cache): 503, not a bug
    outage = database_outage(exc) or cache_outage(exc)
    if outage is not None:
        outage.__cause__ = exc
        return _jivapay_error(request, outage)
    report_critical_error(exc, "unhandled exception in request", method=request.method, path=request.url.path)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "Internal error; it has been reported")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    JivaPayError: _jivapay_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected_error,
}
