"""The merchant-facing OpenAPI: every gateway and merchant operation is documented; every request
body has an example the server takes."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar.handlers import HTTPRouteHandler

from jivapay.adapters.chains.addresses import normalize_destination
from jivapay.domain import money
from jivapay.domain.identity.roles import check_password_policy, normalize_login
from jivapay.domain.merchants import payment_page
from jivapay.domain.orders.requisites import RequisiteType, normalize_number
from jivapay.http.app import create_app
from jivapay.http.error_codes import OPERATION_ERRORS, code_statuses
from jivapay.http.identity.auth import PasswordChangeBody
from jivapay.http.identity.users import NewUser, PasswordReset
from jivapay.http.ledger.commissions import CommissionWrite
from jivapay.http.ledger.rates import NewRate
from jivapay.http.merchants.callbacks import StoreSettings
from jivapay.http.merchants.gateway import PayoutInit
from jivapay.http.orders.fraud import BlocklistEntry
from jivapay.http.orders.requisites import AdminNewRequisite, NewRequisite
from jivapay.http.wallet.payouts import DailyPayoutSettings
from jivapay.http.wallet.withdrawals import NewWithdrawal
from jivapay.services.orders.fraud import normalize_blocklist_value
from jivapay.settings import get_settings

METHODS = ("get", "post", "put", "patch", "delete")


def test_gateway_and_merchant_operations_are_documented() -> None:
    schema = create_app().openapi_schema.to_schema()
    seen = 0
    for path, item in schema["paths"].items():
        if not path.startswith(("/gateway/", "/merchant/")) or path.endswith("/auth/token"):
            continue
        for method, operation in item.items():
            if method not in METHODS:
                continue
            seen += 1
            where = f"{method.upper()} {path}"
            assert operation.get("operationId"), where
            assert operation.get("description") or operation.get("summary"), where
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), where
            for code in ("401", "404", "422"):
                assert responses[code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"
                }, where
    assert seen >= 25
    for path in ("/gateway/payin/init", "/gateway/payout/init"):
        body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body.get("examples") or body["schema"].get("examples"), f"{path}: a request example"


def test_error_details_and_optional_bodies_are_documented() -> None:
    schema = create_app().openapi_schema.to_schema()
    components = schema["components"]["schemas"]
    assert components["FieldError"]["required"] == ["field", "message"]
    assert components["ErrorDetails"]["properties"]["errors"]["items"] == {  # a one-branch oneOf, unwrapped
        "$ref": "#/components/schemas/FieldError"
    }
    payin = schema["paths"]["/gateway/payin/init"]["post"]
    example = next(iter(payin["responses"]["422"]["content"]["application/json"]["examples"].values()))
    assert example["value"]["error"]["details"]["errors"][0]["field"] == "amount"
    assert payin["requestBody"]["required"] is True
    # every field has a default: an empty body is `{}` (OptionalBodyMiddleware)
    assert schema["paths"]["/trader/orders/{order_id}/cancel"]["post"]["requestBody"]["required"] is False
    assert schema["paths"]["/auth/logout"]["post"]["requestBody"]["required"] is False


def test_every_order_path_takes_the_public_reference() -> None:
    schema = create_app().openapi_schema.to_schema()
    order_paths = [path for path in schema["paths"] if "{order_id}" in path]
    assert len(order_paths) >= 15
    for path in order_paths:
        for method, operation in schema["paths"][path].items():
            if method not in METHODS:
                continue
            [parameter] = [p for p in operation["parameters"] if p["name"] == "order_id"]
            assert parameter["schema"]["type"] == "string", (method, path)
            assert "public reference" in parameter["description"], (method, path)
            [example] = parameter["examples"].values()
            assert example["value"].startswith("ord_"), (method, path)
    # bodies name orders by the same reference
    components = schema["components"]["schemas"]
    for name in ("GatewayOrder", "MerchantOrderBody", "OrderBody", "StaffOrderBody"):
        assert components[name]["properties"]["id"]["type"] == "string", name
    assert "incoming_order_id" not in components["StaffOrderBody"]["properties"]


def _json_body(handler: Any) -> type | None:
    """The Struct a handler takes as its JSON (or form) body; None for uploads and no body."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None or not isinstance(data.annotation, type) or not issubclass(data.annotation, msgspec.Struct):
        return None
    return data.annotation


def test_every_request_body_has_an_example_the_server_takes() -> None:
    app = create_app()
    bodies = {
        _json_body(handler)
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if isinstance(handler, HTTPRouteHandler)
    } - {None}
    assert len(bodies) >= 40
    for struct in bodies:
        example = vars(struct).get("EXAMPLE")  # its own: a subclass has fields of its own
        assert isinstance(example, dict), struct
        msgspec.convert(example, struct)  # strict: every field known and of its type
    # and what the handlers check beyond the types
    for address in (NewWithdrawal.EXAMPLE["to_address"], DailyPayoutSettings.EXAMPLE["to_address"]):
        assert normalize_destination("tron", address) == address
    for card in (NewRequisite.EXAMPLE["number"], AdminNewRequisite.EXAMPLE["number"]):
        normalize_number(RequisiteType.CARD, card)
    normalize_number(RequisiteType.CARD, PayoutInit.EXAMPLE["recipient"]["number"])
    min_length = get_settings().password_min_length
    for password in (NewUser.EXAMPLE["password"], PasswordReset.EXAMPLE["password"]):
        check_password_policy(password, min_length=min_length)
    check_password_policy(PasswordChangeBody.EXAMPLE["new_password"], min_length=min_length)
    normalize_login(NewUser.EXAMPLE["login"])
    assert payment_page.is_colour(StoreSettings.EXAMPLE["brand_color"])
    normalize_blocklist_value("card_bins", BlocklistEntry.EXAMPLE["value"])
    money.COMMISSION.check(CommissionWrite.EXAMPLE["rate"], field="rate")
    money.EXCHANGE_RATE.check(NewRate.EXAMPLE["rate"], field="rate")


def test_request_examples_are_in_the_document() -> None:
    schema = create_app().openapi_schema.to_schema()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                if media_type != "multipart/form-data":
                    [example] = media["examples"].values()
                    assert example["value"], (method, path)


def test_every_operation_lists_the_error_codes_it_answers() -> None:
    schema = create_app().openapi_schema.to_schema()
    statuses = code_statuses()
    operations = {
        operation["operationId"]: (path, operation)
        for path, item in schema["paths"].items()
        for operation in item.values()
    }
    assert set(operations) == set(OPERATION_ERRORS)  # every operation, no stale entry
    for operation_id, codes in OPERATION_ERRORS.items():
        path, operation = operations[operation_id]
        assert set(codes) <= set(statuses), operation_id
        assert len(codes) == len(set(codes)), operation_id
        if "requestBody" in operation:  # a body can always be refused
            assert "validation_failed" in codes, operation_id
        line = operation.get("description", "").rpartition("Errors: ")[2]
        named = re.findall(r"`([a-z_]+)` \((\d{3})\)", line)
        assert {code for code, _ in named} >= set(codes), operation_id
        assert all(statuses[code] == int(status) for code, status in named), operation_id
        if operation["security"]:
            assert "not_authenticated" in dict(named), operation_id
        if re.match(r"^/(merchant|trader|teamlead|admin|support)/", path) and operation["security"]:
            assert "permission_denied" in dict(named), operation_id
    # the gateway's own
    assert set(OPERATION_ERRORS["gateway_payout_init"]) >= {
        "duplicate_merchant_order_id",
        "idempotency_conflict",
        "request_in_progress",
        "insufficient_balance",
    }
    assert "insufficient_balance" not in OPERATION_ERRORS["gateway_payin_init"]  # a pay-in holds no store money


def test_withdrawal_requests_say_how_their_idempotency_keys_work() -> None:
    schema = create_app().openapi_schema.to_schema()
    for path in ("/trader/withdrawals", "/teamlead/withdrawals", "/merchant/stores/{store_id}/withdrawals"):
        operation = schema["paths"][path]["post"]
        [key] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert "`409 conflict`" in key["description"], path  # what request_withdrawal raises
        assert "Idempotent-Replayed" not in operation["responses"]["201"]["headers"], path
    gateway = schema["paths"]["/gateway/payin/init"]["post"]
    [key] = [p for p in gateway["parameters"] if p["name"] == "Idempotency-Key"]
    assert "idempotency_conflict" in key["description"]
    assert "Idempotent-Replayed" in gateway["responses"]["201"]["headers"]
