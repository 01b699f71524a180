"""The one exception hierarchy of JivaPay.

Every error carries a stable machine-readable ``code`` and the HTTP status the web layer
answers with, so handlers never invent status codes and clients can switch on ``code``.
``details`` are what the caller is shown, whoever renders them (the error handler, a stored
idempotent answer, an audit entry): amounts as decimal strings, no internal ids, and for a
validation error always ``errors: [{"field", "message"}]``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class JivaPayError(Exception):
    code: ClassVar[str] = "internal_error"
    status_code: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal error"

    def __init_subclass__(
        cls, *, code: str | None = None, status: int | None = None, message: str | None = None, **kwargs: Any
    ) -> None:
        """A subclass names its ``code``, HTTP ``status`` and default ``message`` in its header
        (``class NotFound(JivaPayError, code="not_found", status=404, message="Not found")``);
        what it leaves out it inherits."""
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status_code = status
        if message is not None:
            cls.default_message = message

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


def field_error(field: str | None, message: str) -> dict[str, Any]:
    """One entry of a validation error's ``details.errors``; ``field`` None: the request as a whole."""
    return {"field": field, "message": message}


def validation_details(errors: list[dict[str, Any]], **details: Any) -> dict[str, Any]:
    """A validation error's details: ``errors``, and ``field`` naming the first one at fault."""
    details.pop("field", None)
    first = next((e["field"] for e in errors if e["field"] is not None), None)
    return {**details, **({"field": first} if first is not None else {}), "errors": errors}


# --- 4xx: the caller can fix it -------------------------------------------------------


class ValidationFailed(JivaPayError, code="validation_failed", status=422, message="The request is not valid"):
    """A value the caller sent cannot be used; ``field=`` names it (``fields=`` several)."""

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message)
        errors = details.pop("errors", None)
        if not isinstance(errors, list):
            fields = details.get("fields")
            named = [str(f) for f in fields] if isinstance(fields, list) and fields else [details.get("field")]
            errors = [field_error(name, self.message) for name in named]
        self.details = validation_details(errors, **details)


class BadRequest(JivaPayError, code="bad_request", status=400, message="Bad request"):
    pass


class NotAuthenticated(JivaPayError, code="not_authenticated", status=401, message="Authentication required"):
    pass


class PermissionDenied(JivaPayError, code="permission_denied", status=403, message="You are not allowed to do this"):
    pass


class NotFound(JivaPayError, code="not_found", status=404, message="Not found"):
    pass


class RequisiteNotFound(NotFound, code="requisite_not_found", message="No suitable requisite is available"):
    pass


class Conflict(JivaPayError, code="conflict", status=409, message="The request conflicts with the current state"):
    pass


class DuplicateMerchantOrder(
    Conflict, code="duplicate_merchant_order_id", message="An order with this merchant_order_id exists"
):
    pass


class IdempotencyConflict(
    Conflict, code="idempotency_conflict", message="This Idempotency-Key was used for a different request"
):
    pass


class RequestInFlight(
    Conflict,
    code="request_in_progress",
    message="A request with this Idempotency-Key is still being processed; retry shortly",
):
    pass


class OrderNotAssigned(Conflict, code="order_not_assigned", message="The order has no requisite yet: nothing to pay"):
    pass


class LimitExceeded(Conflict, code="limit_exceeded", message="A limit would be exceeded"):
    pass


class InsufficientBalance(Conflict, code="insufficient_balance", message="Insufficient balance"):
    """The ledger raises it with its own view — the account id and amounts in minor units; the
    details show the amounts as decimal strings and no account id. ``account_id`` and
    ``amounts`` (minor units) keep the ledger's view for code that needs it."""

    AMOUNT_DETAILS: ClassVar[tuple[str, ...]] = ("balance", "needed", "available")

    def __init__(self, message: str | None = None, **details: Any) -> None:
        from jivapay.domain.ledger.posting import USDT, USDT_DECIMALS, format_amount  # the ledger imports this module

        self.account_id: int | None = details.pop("account_id", None)
        decimals = details.pop("decimals", USDT_DECIMALS if details.get("currency") == USDT else None)
        self.amounts: dict[str, int] = {
            name: value
            for name in self.AMOUNT_DETAILS
            if isinstance(value := details.get(name), int) and not isinstance(value, bool)
        }
        for name, units in self.amounts.items():
            if decimals is None:  # minor units of a currency this error cannot scale: left out
                del details[name]
            else:
                details[name] = format_amount(units, decimals)
        super().__init__(message, **details)


class OrderProcessingError(Conflict, code="order_processing_error", message="The order could not be processed"):
    pass


class RateLimited(JivaPayError, code="rate_limited", status=429, message="Too many requests"):
    pass


class IpBlocked(PermissionDenied, code="ip_blocked", message="This IP address is temporarily blocked"):
    """Too many failed requests from this IP (or an operator's block); ``retry_after`` seconds."""


class LoginThrottled(
    RateLimited, code="login_throttled", message="Too many failed logins for this account; try again later"
):
    pass


# --- 5xx: our side or a dependency failed -----------------------------------------------


class ConfigurationError(JivaPayError, code="configuration_error", status=500, message="The platform is misconfigured"):
    pass


class Overloaded(JivaPayError, code="overloaded", status=503, message="The service is busy; try again in a moment"):
    """Too much of one costly kind of work at once (password hashing); retry shortly."""


class DatabaseError(JivaPayError, code="database_unavailable", status=503, message="The database is unavailable"):
    """The database could not be reached or failed; safe to retry."""


class CacheError(JivaPayError, code="cache_unavailable", status=503, message="The cache is unavailable"):
    """Redis could not be reached or failed; callers fall back to the database."""


class NotificationError(
    JivaPayError, code="notification_failed", status=502, message="A notification could not be delivered"
):
    pass


class ChainUnavailable(
    JivaPayError, code="chain_unavailable", status=503, message="The blockchain network is unavailable"
):
    """No RPC URL of a network answered (or each answered nonsense); the next poll tries again."""


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
