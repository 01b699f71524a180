"""The API contract as a merchant's developer meets it: ``/schema/openapi.json`` lints clean with
Redocly CLI (no error, no warning), ``openapi-typescript`` and ``openapi-python-client`` generate
clients without a warning, and the merchant flow of docs/integration.md runs through the
generated Python client against a live ``jivapay api`` — credentials and Idempotency-Key as the
document declares them, no header added by hand.

The npm tools (pinned in package.json) are installed by ``npm ci`` on first use.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import CallbackEvent
from jivapay.adapters.db.uow import atomic
from jivapay.http.app import create_app
from jivapay.http.merchants.webhooks import OrderEvent
from jivapay.services.ledger import posting
from jivapay.services.orders.processing import process_incoming_order
from tests.e2e.conftest import REPO, free_port, jivapay_env, spawn_jivapay
from tests.e2e.test_integration_doc import _incoming_id, _trader_pays_out, doc_world
from tests.factories import PASSWORD
from tests.fixtures.chains import ensure_npm

NODE_BIN = REPO / "node_modules" / ".bin"
# image responses (deposit-address QR codes) are files to the Python client
CLIENT_CONFIG = (
    "content_type_overrides:\n  image/svg+xml: application/octet-stream\n  image/png: application/octet-stream\n"
)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ensure_npm(lambda: (NODE_BIN / "redocly").exists() and (NODE_BIN / "openapi-typescript").exists())
    with TestClient(create_app()) as client:
        answer = client.get("/schema/openapi.json")
    assert answer.status_code == 200
    path = tmp_path_factory.mktemp("contract") / "openapi.json"
    path.write_text(answer.text)
    return path


def test_the_merchant_document_stands_alone(document: Path) -> None:
    with TestClient(create_app()) as client:
        answer = client.get("/schema/merchant.json")
    assert answer.status_code == 200
    merchant = document.parent / "merchant.json"
    merchant.write_text(answer.text)
    spec = answer.json()
    assert spec["paths"]
    assert all(path.startswith(("/gateway/", "/merchant/", "/auth/refresh")) for path in spec["paths"])
    assert set(spec["components"]["securitySchemes"]) == {"storeApiKey", "orderToken", "merchantLogin"}
    assert "OrderEvent" in spec["components"]["schemas"]
    done = _run(
        [str(NODE_BIN / "redocly"), "lint", str(merchant), "--format=json", "--max-problems=100000"], document.parent
    )
    report = json.loads(done.stdout)
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, report["problems"][:10]
    config = document.parent / "merchant-client.yaml"
    config.write_text(CLIENT_CONFIG)
    generated = _run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(merchant), "--output-path",
         str(document.parent / "merchant-client"), "--overwrite", "--config", str(config), "--fail-on-warning"],
        document.parent,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_redocly_lints_the_document_clean(document: Path) -> None:
    done = _run(
        [str(NODE_BIN / "redocly"), "lint", str(document), "--format=json", "--max-problems=100000"], document.parent
    )
    report = json.loads(done.stdout)
    problems = [f"{p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}" for p in report["problems"]]
    assert report["totals"]["errors"] == 0, problems
    assert report["totals"]["warnings"] == 0, problems


def test_the_document_says_what_a_client_needs(document: Path) -> None:
    spec = json.loads(document.read_text())
    assert set(spec["components"]["securitySchemes"]) >= {"storeApiKey", "orderToken", "merchantLogin"}
    assert set(spec["webhooks"]) == {"order", "deposit", "withdrawal", "test"}
    assert spec["components"]["securitySchemes"]["storeApiKey"]["name"] == "X-API-Key"
    assert spec["info"]["license"]
    assert {tag["name"] for tag in spec["tags"]} >= {"gateway", "merchant"}
    names = [name.lower() for name in spec["components"]["schemas"]]
    assert len(names) == len(set(names))  # one name per schema
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert "security" in operation, f"{method} {path}"
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) or status == "default":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, f"{method} {path} {status}"
            if path.startswith("/gateway/") and method == "post":
                assert "Idempotency-Key" in [p["name"] for p in operation.get("parameters", [])], path
    assert spec["paths"]["/health"]["get"]["security"] == []
    assert spec["paths"]["/gateway/payin/status/{order_id}"]["get"]["security"] == [
        {"storeApiKey": []},
        {"orderToken": []},
    ]
    _values_are_documented(spec)


DECIMAL_PATTERN = "^-?[0-9]+(\\.[0-9]+)?$"
# request fields holding an amount or a rate
REQUEST_DECIMALS = [
    ("PayinInit", "amount"),
    ("PayoutInit", "amount"),
    ("NewWithdrawal", "amount"),
    ("Adjustment", "amount"),
    ("DailyPayoutSettings", "reserve"),
    ("CommissionWrite", "rate"),
    ("NewRate", "rate"),
    *[("Limits", name) for name in ("min_amount", "max_amount", "daily_limit", "monthly_limit")],
]


def _branches(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema's non-null alternatives, references followed."""
    if "$ref" in schema:
        return _branches(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    if "oneOf" in schema or "anyOf" in schema:
        return [b for branch in schema.get("oneOf", schema.get("anyOf")) for b in _branches(branch, schemas)]
    return [] if schema.get("type") == "null" else [schema]


def _values_are_documented(spec: dict[str, Any]) -> None:
    """Filters list their values, request bodies have examples, amounts their pattern, and every
    merchant operation its error codes."""
    schemas = spec["components"]["schemas"]
    filters = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            where = f"{method} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] in ("status", "direction"):
                    filters += 1
                    [branch] = _branches(parameter["schema"], schemas)
                    assert branch.get("enum"), f"{where} ?{parameter['name']}"
                if parameter["in"] == "query" and parameter["name"] in ("amount", "amount_min", "amount_max"):
                    [branch] = _branches(parameter["schema"], schemas)
                    assert branch["pattern"] == DECIMAL_PATTERN, f"{where} ?{parameter['name']}"
            body = operation.get("requestBody", {}).get("content", {})
            if path.startswith(("/merchant/", "/gateway/")):
                for media_type, media in body.items():
                    if media_type != "multipart/form-data":
                        assert media.get("examples") or media.get("example"), f"{where}: a request example"
            if path.startswith("/merchant/") and operation["security"]:
                errors = operation["description"].rpartition("Errors: ")[2]
                codes = re.findall(r"`([a-z_]+)` \((\d{3})\)", errors)
                assert ("not_authenticated", "401") in codes, where
                assert ("permission_denied", "403") in codes, where
                if body:
                    assert ("validation_failed", "422") in codes, where
    assert filters >= 20
    for schema, field in REQUEST_DECIMALS:
        [branch] = _branches(schemas[schema]["properties"][field], schemas)
        assert branch["pattern"] == DECIMAL_PATTERN, (schema, field)
        assert re.fullmatch(branch["pattern"], branch["examples"][0]), (schema, field)
    payout = spec["paths"]["/gateway/payout/init"]["post"]["description"]
    assert "`insufficient_balance` (409)" in payout
    assert "`duplicate_merchant_order_id` (409)" in payout


def test_openapi_typescript_generates_without_a_word(document: Path) -> None:
    done = _run([str(NODE_BIN / "openapi-typescript"), str(document), "-o", "schema.d.ts"], document.parent)
    assert done.returncode == 0, done.stderr
    noise = [line for line in done.stderr.splitlines() if "warn" in line.lower() or "error" in line.lower()]
    assert noise == []


@pytest.fixture(scope="module")
def python_client(document: Path) -> Iterator[str]:
    config = document.parent / "client.yaml"
    config.write_text(CLIENT_CONFIG)
    output = document.parent / "client"
    done = _run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(output),
            "--overwrite",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        document.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stdout + done.stderr
    sys.path.insert(0, str(output))
    try:
        yield "jiva_pay_api_client"
    finally:
        sys.path.remove(str(output))


def _api(package: str, module: str) -> Any:
    return importlib.import_module(f"{package}.api.{module}")


async def test_the_merchant_flow_through_the_generated_client(
    python_client: str, seeded: None, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    merchant, trader = await doc_world(session_factory)
    port = free_port()
    log = tmp_path / "api.log"
    process = spawn_jivapay(["api", "--port", str(port)], jivapay_env(), tmp_path, log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=1) as http:
            for _ in range(300):
                assert process.poll() is None, log.read_text()
                try:
                    if (await http.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        await _flow(python_client, base, merchant.login, session_factory, trader.id)
        assert "Traceback" not in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=20)


async def _flow(
    package: str, base: str, login: str, session_factory: async_sessionmaker[AsyncSession], trader_id: int
) -> None:
    """docs/integration.md's steps, in the generated client's words (its asyncio functions)."""
    client_module = importlib.import_module(package)
    models = importlib.import_module(f"{package}.models")
    anonymous = client_module.Client(base_url=base)

    # 1. sign in
    token = await _api(package, "auth.merchant_login").asyncio(
        client=anonymous, body=models.PasswordForm(username=login, password=PASSWORD)
    )
    assert isinstance(token, models.TokenBody), token
    cabinet = client_module.AuthenticatedClient(base_url=base, token=token.access_token)
    # 2. a store, 3. an API key, 4. its callback URL
    create_store = _api(package, "merchant.merchant_create_store")
    created = await create_store.asyncio(client=cabinet, body=models.NewStore(name="Shop"))
    assert isinstance(created, models.CreatedStoreBody), created
    store_id = created.store.id
    issued = await _api(package, "merchant.merchant_issue_api_key").asyncio(
        store_id, client=cabinet, body=models.NewKey(name="server")
    )
    assert isinstance(issued, models.IssuedKeyBody), issued
    settings = await _api(package, "merchant.merchant_update_store_settings").asyncio(
        store_id, client=cabinet, body=models.StoreSettings(callback_url="https://shop.example/jivapay/callback")
    )
    assert isinstance(settings, models.StoreSettingsBody), settings
    gateway = client_module.AuthenticatedClient(
        base_url=base, token=issued.api_key, auth_header_name="X-API-Key", prefix=""
    )
    # 5. a pay-in, twice with one Idempotency-Key: one order
    payin = models.PayinInit(amount="1500.00", currency="RUB", payment_method="card", merchant_order_id="order-1")
    init = _api(package, "gateway.gateway_payin_init")
    first = await init.asyncio_detailed(client=gateway, body=payin, idempotency_key="order-1-init")
    again = await init.asyncio_detailed(client=gateway, body=payin, idempotency_key="order-1-init")
    assert first.status_code == again.status_code == 201
    assert first.parsed.id == again.parsed.id
    assert again.headers.get("idempotent-replayed") == "true"
    order = first.parsed
    assert order.payment_page_url.endswith(order.order_token)
    # 6. the requisite (the worker assigns it), read with the customer's order token
    await _assign(session_factory, order.id)
    customer = client_module.AuthenticatedClient(
        base_url=base, token=order.order_token, auth_header_name="X-Order-Token", prefix=""
    )
    status = await _api(package, "gateway.gateway_payin_status").asyncio(order.id, client=customer, wait=2)
    assert status.status == "pending_payment", status
    assert status.requisite.number == "4276160000000019"
    # 7. the customer says they paid
    types = importlib.import_module(f"{package}.types")
    receipt = types.File(payload=io.BytesIO(b"%PDF-1.4 paid"), file_name="receipt.pdf", mime_type="application/pdf")
    confirmed = await _api(package, "gateway.gateway_payin_confirm").asyncio(
        order.id, client=customer, body=models.GatewayPayinConfirmBody(receipt=receipt)
    )
    assert confirmed.status == "client_confirmed", confirmed
    # an error comes back in the one error format, parsed
    refused = await init.asyncio(client=gateway, body=payin, idempotency_key="order-1-other")
    assert isinstance(refused, models.ErrorBody)
    assert refused.error.code == "duplicate_merchant_order_id"
    # 8. a pay-out (the store's USDT arrives over a chain), 9. its confirmation
    await _float(session_factory, store_id)
    payout = await _api(package, "gateway.gateway_payout_init").asyncio(
        client=gateway,
        body=models.PayoutInit(
            amount="900.00",
            currency="RUB",
            payment_method="card",
            merchant_order_id="payout-1",
            recipient=models.RecipientBody(number="2200000000000004", name="Anna Smirnova"),
        ),
        idempotency_key="payout-1-init",
    )
    assert isinstance(payout, models.GatewayOrder), payout
    await _pay_out(session_factory, payout.id, trader_id)
    done = await _api(package, "gateway.gateway_payout_confirm").asyncio(payout.id, client=gateway)
    assert done.status == "completed", done
    # 10. the orders in the cabinet
    listed = await _api(package, "merchant.merchant_list_orders").asyncio(client=cabinet)
    assert {o.id for o in listed.data} >= {order.id, payout.id}
    # the callbacks queued on the way are what the document's webhooks say they are
    async with session_factory() as session:
        events = list(await session.scalars(select(CallbackEvent).where(CallbackEvent.store_id == store_id)))
    assert len(events) >= 4
    for event in events:
        typed = msgspec.convert(event.payload, OrderEvent)
        assert typed.order.id in (order.id, payout.id)


async def _assign(session_factory: async_sessionmaker[AsyncSession], reference: str) -> None:
    outcome = await process_incoming_order(session_factory, await _incoming_id(session_factory, reference))
    assert outcome.status == "assigned", outcome


async def _float(session_factory: async_sessionmaker[AsyncSession], store_id: int) -> None:
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "store", store_id, "TRC20", 100 * 10**6, "client-float")


async def _pay_out(session_factory: async_sessionmaker[AsyncSession], reference: str, trader_id: int) -> None:
    await _trader_pays_out(session_factory, await _incoming_id(session_factory, reference), trader_id)
