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
from jivapay.http.middleware import RequestContextMiddleware


class Body(msgspec.Struct, forbid_unknown_fields=True):
    amount: str
    count: int


@post("/echo")
async def echo(data: JSONBody[Body]) -> Body:
    return data


@get("/broke")
async def broke() -> None:
    raise RuntimeError("secret internals")


@get("/poor")
async def poor() -> None:
    raise InsufficientBalance(needed="10.00", available="5.00")


@pytest.fixture
async def error_client() -> AsyncIterator[Any]:
    app = Litestar([echo, broke, poor], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)
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


async def test_invalid_body_is_422_with_field_errors(error_client: Any) -> None:
    body = _assert_error(
        await error_client.post("/echo", json={"amount": "1.00", "count": "x"}), 422, "validation_failed"
    )
    assert body["error"]["details"]["errors"]


async def test_unknown_field_is_422(error_client: Any) -> None:
    _assert_error(
        await error_client.post("/echo", json={"amount": "1", "count": 1, "extra": 1}), 422, "validation_failed"
    )


async def test_malformed_json_is_a_4xx(error_client: Any) -> None:
    response = await error_client.post("/echo", content=b"{not json", headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"] in {"bad_request", "validation_failed"}


async def test_bug_is_500_without_internals(error_client: Any) -> None:
    body = _assert_error(await error_client.get("/broke"), 500, "internal_error")
    assert "secret" not in str(body)
