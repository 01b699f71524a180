"""The merchant-facing OpenAPI: every gateway and merchant operation is documented."""

from __future__ import annotations

from jivapay.http.app import create_app

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
