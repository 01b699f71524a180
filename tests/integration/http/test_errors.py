"""The error contract: every failure has the documented body and a request id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from jivapay.domain.errors import InsufficientBalance
from jivapay.http.errors import EXCEPTION_HANDLERS
from jivapay.http.middleware import OptionalBodyMiddleware, RequestContextMiddleware


class Body(msgspec.Struct, forbid_unknown_fields=True):
    amount: str
    count: int


class Reason(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


@post("/echo")
async def echo(data: JSONBody[Body]) -> Body:
    return data


@post("/cancel")
async def cancel(data: Reason) -> Reason:
    return data


@get("/broke")
async def broke() -> None:
    raise RuntimeError("secret internals")


@get("/poor")
async def poor() -> None:
    raise InsufficientBalance(needed="10.00", available="5.00")


@get("/overdraft")
async def overdraft() -> None:
    raise InsufficientBalance(account_id=9, kind="available", currency="USDT", balance=1, needed=2_500_000)


@pytest.fixture
async def error_client() -> AsyncIterator[Any]:
    app = Litestar(
        [echo, cancel, broke, poor, overdraft],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[OptionalBodyMiddleware],
        logging_config=None,
    )
    async with AsyncTestClient(app=RequestContextMiddleware(app)) as test_client:  # type: ignore[arg-type]
        yield test_client


def _assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], dict)
    assert body["request_id"] == response.headers["x-request-id"]
    return body  # type: ignore[no-any-return]


async def test_domain_error_keeps_code_status_and_details(error_client: Any) -> None:
    body = _assert_error(await error_client.get("/poor"), 409, "insufficient_balance")
    assert body["error"]["details"] == {"needed": "10.00", "available": "5.00"}


async def test_unknown_route_is_a_404_in_the_error_format(client: Any) -> None:
    _assert_error(await client.get("/no/such/thing"), 404, "not_found")


async def test_wrong_method_is_405(client: Any) -> None:
    _assert_error(await client.post("/health"), 405, "method_not_allowed")


async def test_ledger_amounts_are_decimal_strings_without_account_ids(error_client: Any) -> None:
    body = _assert_error(await error_client.get("/overdraft"), 409, "insufficient_balance")
    assert body["error"]["details"] == {
        "kind": "available",
        "currency": "USDT",
        "balance": "0.000001",
        "needed": "2.500000",
    }


def _field_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors = body["error"]["details"]["errors"]
    assert errors
    for error in errors:
        assert set(error) == {"field", "message"}, error
        assert error["message"], error
    return errors  # type: ignore[no-any-return]


async def test_invalid_body_is_422_with_field_errors(error_client: Any) -> None:
    body = _assert_error(
        await error_client.post("/echo", json={"amount": "1.00", "count": "x"}), 422, "validation_failed"
    )
    assert [e["field"] for e in _field_errors(body)] == ["count"]
    assert body["error"]["details"]["field"] == "count"


async def test_unknown_and_missing_fields_are_named(error_client: Any) -> None:
    unknown = _assert_error(
        await error_client.post("/echo", json={"amount": "1", "count": 1, "extra": 1}), 422, "validation_failed"
    )
    assert [e["field"] for e in _field_errors(unknown)] == ["extra"]
    missing = _assert_error(await error_client.post("/echo", json={"count": 1}), 422, "validation_failed")
    assert [e["field"] for e in _field_errors(missing)] == ["amount"]


async def test_malformed_json_is_a_422_about_the_whole_body(error_client: Any) -> None:
    response = await error_client.post("/echo", content=b"{not json", headers={"content-type": "application/json"})
    body = _assert_error(response, 422, "validation_failed")
    assert [e["field"] for e in _field_errors(body)] == [None]


async def test_a_missing_required_body_is_a_422_saying_so(error_client: Any) -> None:
    body = _assert_error(await error_client.post("/echo"), 422, "validation_failed")
    assert _field_errors(body) == [{"field": None, "message": "this request needs a JSON body"}]


@pytest.mark.parametrize("headers", [{}, {"content-type": "application/json", "content-length": "0"}])
async def test_an_empty_optional_body_is_an_empty_object(error_client: Any, headers: dict[str, str]) -> None:
    response = await error_client.post("/cancel", content=b"", headers=headers)
    assert response.status_code == 201, response.text
    assert response.json() == {"reason": None}
    wrong = _assert_error(await error_client.post("/cancel", json={"reason": 5}), 422, "validation_failed")
    assert [e["field"] for e in _field_errors(wrong)] == ["reason"]


async def test_bug_is_500_without_internals(error_client: Any) -> None:
    body = _assert_error(await error_client.get("/broke"), 500, "internal_error")
    assert "secret" not in str(body)
