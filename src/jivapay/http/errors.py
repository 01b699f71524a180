"""One map from exceptions to the error body of the public contract.

``{"error": {"code", "message", "details"}, "request_id"}`` — for our own errors, for
Litestar's (validation, routing, auth), and for bugs (500, reported, no internals leaked).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from jivapay.adapters.notifications import report_critical_error
from jivapay.domain.errors import JivaPayError
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
    return error_response(exc.status_code, exc.code, exc.message, exc.details)


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    # Litestar says 400; the contract says 422 for a request that parsed but is not valid
    errors = exc.extra if isinstance(exc.extra, list) else ([exc.extra] if exc.extra else [])
    return error_response(422, "validation_failed", exc.detail or "The request is not valid", {"errors": errors})


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= 500:
        report_critical_error(exc, "HTTP 5xx raised by the framework")
    code = _CODES_BY_STATUS.get(status, "http_error" if status < 500 else "internal_error")
    details = exc.extra if isinstance(exc.extra, dict) else ({"info": exc.extra} if exc.extra else {})
    return error_response(status, code, exc.detail, details, headers=exc.headers)


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    report_critical_error(exc, "unhandled exception in request", method=request.method, path=request.url.path)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "Internal error; it has been reported")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    JivaPayError: _jivapay_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected_error,
}
