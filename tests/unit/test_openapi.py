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
    assert components["ErrorDetails"]["properties"]["errors"]["oneOf"][0]["items"] == {
        "$ref": "#/components/schemas/FieldError"
    }
    payin = schema["paths"]["/gateway/payin/init"]["post"]
    example = next(iter(payin["responses"]["422"]["content"]["application/json"]["examples"].values()))
    assert example["value"]["error"]["details"]["errors"][0]["field"] == "amount"
    assert payin["requestBody"]["required"] is True
    # every field has a default: an empty body is `{}` (OptionalBodyMiddleware)
    assert schema["paths"]["/trader/orders/{order_id}/cancel"]["post"]["requestBody"]["required"] is False
    assert schema["paths"]["/auth/logout"]["post"]["requestBody"]["required"] is False
