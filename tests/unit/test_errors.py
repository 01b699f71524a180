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


# --- what a caller is shown -----------------------------------------------------------------


def test_a_validation_error_always_lists_its_problems() -> None:
    named = errors.ValidationFailed("rate has more than 6 decimal places", field="rate")
    assert named.details == {
        "field": "rate",
        "errors": [{"field": "rate", "message": "rate has more than 6 decimal places"}],
    }
    whole = errors.ValidationFailed("nothing to change")
    assert whole.details == {"errors": [{"field": None, "message": "nothing to change"}]}
    several = errors.ValidationFailed("send one", fields=["in_work", "traffic_priority"])
    assert [e["field"] for e in several.details["errors"]] == ["in_work", "traffic_priority"]
    assert several.details["field"] == "in_work"
    given = errors.ValidationFailed("bad", errors=[{"field": "a", "message": "x"}, {"field": "b", "message": "y"}])
    assert given.details == {"field": "a", "errors": [{"field": "a", "message": "x"}, {"field": "b", "message": "y"}]}


def test_other_details_stay_beside_the_errors() -> None:
    exc = errors.ValidationFailed("password must contain a digit", field="password", rule="digit")
    assert exc.details["rule"] == "digit"
    assert exc.details["errors"] == [{"field": "password", "message": "password must contain a digit"}]


def test_insufficient_balance_shows_decimal_strings_and_no_account_id() -> None:
    exc = errors.InsufficientBalance(
        account_id=42, kind="available", currency="USDT", balance=5_000_000, needed=16_683_334
    )
    assert exc.details == {"kind": "available", "currency": "USDT", "balance": "5.000000", "needed": "16.683334"}
    assert (exc.account_id, exc.amounts) == (42, {"balance": 5_000_000, "needed": 16_683_334})
    fiat = errors.InsufficientBalance(account_id=7, kind="fiat", currency="RUB", balance=0, needed=150_000)
    assert fiat.details == {"kind": "fiat", "currency": "RUB"}  # minor units it cannot scale are left out
    scaled = errors.InsufficientBalance(currency="RUB", needed=150_000, decimals=2)
    assert scaled.details == {"currency": "RUB", "needed": "1500.00"}


def test_litestar_validation_messages_become_field_errors() -> None:
    from jivapay.http.errors import field_errors

    assert field_errors(
        [
            {"message": "Expected `int`, got `str`", "key": "count", "source": "body"},
            {"message": "Object missing required field `amount`", "key": "data", "source": "body"},
            {"message": "Object contains unknown field `extra`", "key": "recipient", "source": "body"},
            {"message": "'data'", "key": "data", "source": "body"},
            {"message": "Expected `int`, got `str`", "key": "limit", "source": "query"},
            "odd",
        ]
    ) == [
        {"field": "count", "message": "Expected `int`, got `str`"},
        {"field": "amount", "message": "Object missing required field `amount`"},
        {"field": "recipient.extra", "message": "Object contains unknown field `extra`"},
        {"field": None, "message": "this request needs a JSON body"},
        {"field": "limit", "message": "Expected `int`, got `str`"},
        {"field": None, "message": "odd"},
    ]
    assert field_errors(None) == []
