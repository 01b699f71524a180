"""What the OpenAPI document says about errors and operations that the handlers do not."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, Operation, Parameter, RequestBody

from jivapay.http.middleware import body_is_optional


class FieldError(msgspec.Struct):
    # the field at fault — a body field (dotted when nested), a query or path parameter, a header;
    # null when the problem is the request as a whole (no body, not JSON)
    field: str | None
    message: str


class ErrorDetails(msgspec.Struct):
    """Facts about the error, per code (amounts are decimal strings); a 422 always has ``errors``."""

    errors: list[FieldError] | msgspec.UnsetType = msgspec.UNSET  # every 422: one entry per problem
    field: str | msgspec.UnsetType = msgspec.UNSET  # 422: the first field in ``errors`` (when one is named)


class ErrorDetail(msgspec.Struct):
    code: str  # machine-readable: validation_failed, insufficient_balance, idempotency_conflict…
    message: str
    details: ErrorDetails


class ErrorBody(msgspec.Struct):
    error: ErrorDetail
    request_id: str | None


def _error(description: str, code: str, message: str, details: dict[str, Any] | None = None) -> ResponseSpec:
    example = {"error": {"code": code, "message": message, "details": details or {}}, "request_id": "3f2b9c0e1d"}
    return ResponseSpec(
        ErrorBody, description=description, examples=[Example(summary=code, value=example)], generate_examples=False
    )


ERROR_RESPONSES: dict[int, ResponseSpec] = {
    401: _error("Missing or invalid credentials", "not_authenticated", "Authentication required"),
    403: _error("The caller may not do this", "permission_denied", "Permission denied"),
    404: _error("No such resource for this caller", "not_found", "Not found"),
    409: _error(
        "Conflicts with the current state (duplicate, illegal status move, insufficient balance, idempotency)",
        "conflict",
        "The request conflicts with the current state",
    ),
    422: _error(
        "The request is not valid: `details.errors` lists every field at fault",
        "validation_failed",
        'amount must be a decimal string like "100.00"',
        {
            "field": "amount",
            "errors": [{"field": "amount", "message": 'amount must be a decimal string like "100.00"'}],
        },
    ),
    429: _error("Too many requests", "rate_limited", "Too many requests; slow down"),
}


def document(handlers: Iterable[Any], descriptions: dict[str, str] | None = None) -> None:
    """Give every handler the error responses, and a description where it has none."""
    descriptions = descriptions or {}
    for handler in handlers:
        if not isinstance(handler, HTTPRouteHandler):
            continue
        handler.responses = {**ERROR_RESPONSES, **(handler.responses or {})}
        if not handler.description and handler.operation_id in descriptions:
            handler.description = descriptions[str(handler.operation_id)]


ORDER_REFERENCE_EXAMPLE = "ord_4k9x2m7q1w8e5r3t6y0u2i"


@dataclasses.dataclass
class DocumentedOperation(Operation):
    """An operation whose ``{order_id}`` path parameter says what it is: the order's public reference."""

    def __post_init__(self) -> None:
        for parameter in self.parameters or []:
            if isinstance(parameter, Parameter) and parameter.name == "order_id" and parameter.param_in == "path":
                parameter.description = (
                    "The order's public reference (ord_ + 22 characters), the same for every role; "
                    "anything else is a 404"
                )
                parameter.examples = {"reference": Example(value=ORDER_REFERENCE_EXAMPLE)}


@dataclasses.dataclass
class OptionalBodyOperation(DocumentedOperation):
    """An operation whose JSON body may be left out: every field has a default (see
    ``OptionalBodyMiddleware``), so the document does not call it required."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


def mark_optional_bodies(handlers: Iterable[Any]) -> None:
    for handler in handlers:
        handler.operation_class = OptionalBodyOperation if body_is_optional(handler) else DocumentedOperation
