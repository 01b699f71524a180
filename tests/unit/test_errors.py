from __future__ import annotations

from jivapay.domain import errors


def test_every_error_has_a_unique_code_and_a_4xx_or_5xx_status() -> None:
    classes = errors.all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), "error codes must be unique"
    for cls in classes:
        assert 400 <= cls.status_code < 600
        assert cls.code == cls.code.lower()


def test_seed_hierarchy_is_present() -> None:
    for name in (
        "RequisiteNotFound",
        "LimitExceeded",
        "InsufficientBalance",
        "ConfigurationError",
        "OrderProcessingError",
        "DatabaseError",
        "NotificationError",
        "CacheError",
        "NotFound",
        "Conflict",
        "PermissionDenied",
        "ValidationFailed",
    ):
        assert issubclass(getattr(errors, name), errors.JivaPayError)


def test_details_travel_with_the_error() -> None:
    exc = errors.InsufficientBalance(needed="10.00")
    assert exc.status_code == 409
    assert exc.message == "Insufficient balance"
    assert exc.details == {"needed": "10.00"}


def test_only_transient_failures_are_retryable() -> None:
    assert set(errors.RETRYABLE_ERRORS) == {errors.DatabaseError, errors.CacheError}
