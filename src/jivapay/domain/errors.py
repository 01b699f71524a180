"""The one exception hierarchy of JivaPay.

Every error carries a stable machine-readable ``code`` and the HTTP status the web layer
answers with, so handlers never invent status codes and clients can switch on ``code``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class JivaPayError(Exception):
    code: ClassVar[str] = "internal_error"
    status_code: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


# --- 4xx: the caller can fix it -------------------------------------------------------


class ValidationFailed(JivaPayError):
    code = "validation_failed"
    status_code = 422
    default_message = "The request is not valid"


class BadRequest(JivaPayError):
    code = "bad_request"
    status_code = 400
    default_message = "Bad request"


class NotAuthenticated(JivaPayError):
    code = "not_authenticated"
    status_code = 401
    default_message = "Authentication required"


class PermissionDenied(JivaPayError):
    code = "permission_denied"
    status_code = 403
    default_message = "You are not allowed to do this"


class NotFound(JivaPayError):
    code = "not_found"
    status_code = 404
    default_message = "Not found"


class RequisiteNotFound(NotFound):
    code = "requisite_not_found"
    default_message = "No suitable requisite is available"


class Conflict(JivaPayError):
    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state"


class DuplicateMerchantOrder(Conflict):
    code = "duplicate_merchant_order_id"
    default_message = "An order with this merchant_order_id exists"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = "This Idempotency-Key was used for a different request"


class RequestInFlight(Conflict):
    code = "request_in_progress"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly"


class OrderNotAssigned(Conflict):
    code = "order_not_assigned"
    default_message = "The order has no requisite yet: nothing to pay"


class LimitExceeded(Conflict):
    code = "limit_exceeded"
    default_message = "A limit would be exceeded"


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    default_message = "Insufficient balance"


class OrderProcessingError(Conflict):
    code = "order_processing_error"
    default_message = "The order could not be processed"


class RateLimited(JivaPayError):
    code = "rate_limited"
    status_code = 429
    default_message = "Too many requests"


# --- 5xx: our side or a dependency failed -----------------------------------------------


class ConfigurationError(JivaPayError):
    code = "configuration_error"
    status_code = 500
    default_message = "The platform is misconfigured"


class DatabaseError(JivaPayError):
    """The database could not be reached or failed; safe to retry."""

    code = "database_unavailable"
    status_code = 503
    default_message = "The database is unavailable"


class CacheError(JivaPayError):
    """Redis could not be reached or failed; callers fall back to the database."""

    code = "cache_unavailable"
    status_code = 503
    default_message = "The cache is unavailable"


class NotificationError(JivaPayError):
    code = "notification_failed"
    status_code = 502
    default_message = "A notification could not be delivered"


#: Errors a background job may retry; business errors are final.
RETRYABLE_ERRORS: tuple[type[JivaPayError], ...] = (DatabaseError, CacheError)


def all_error_classes() -> list[type[JivaPayError]]:
    """Every concrete error class, for documentation and for the uniqueness test."""
    found: list[type[JivaPayError]] = []
    stack: list[type[JivaPayError]] = [JivaPayError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found
