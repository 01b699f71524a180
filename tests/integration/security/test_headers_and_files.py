"""Responses and files are hardened: security headers on every answer, downloads as attachments,
uploads checked by content, CORS closed unless an origin is listed."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import httpx
import pytest
from litestar.testing import AsyncTestClient
from moto.server import ThreadedMotoServer

from jivapay.adapters.db.uow import atomic
from jivapay.adapters.resources import get_resources
from jivapay.adapters.storage import S3Storage
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.http.app import create_asgi_app
from jivapay.services.identity.ip_blocks import block_ip
from jivapay.services.ledger import posting
from jivapay.services.platform.config import set_config
from jivapay.settings import Settings, get_settings
from tests.factories import bearer, make_user, token_for
from tests.integration.conftest import World

pytestmark = pytest.mark.redis

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_hardened(response: httpx.Response) -> None:
    for name, value in EVERY_RESPONSE.items():
        assert response.headers.get_list(name) == [value], (response.status_code, name, response.headers)
    [policy] = response.headers.get_list("content-security-policy")
    assert "frame-ancestors 'none'" in policy


@pytest.fixture
async def app_with(client: Any) -> Any:
    """A client of the API built from other settings (``client`` has lifted the rate limits)."""

    def make(settings: Settings, peer: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_asgi_app(settings), client=(peer, 40000))  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    return make


async def test_every_kind_of_answer_carries_the_security_headers(client: Any, app_with: Any) -> None:
    ok = await client.get("/health")
    assert ok.status_code == 200
    assert_hardened(ok)
    assert "strict-transport-security" not in ok.headers  # HSTS only in production
    missing = await client.get("/no/such/path")
    assert missing.status_code == 404
    assert_hardened(missing)
    unauthenticated = await client.get("/merchant/me")
    assert unauthenticated.status_code == 401
    assert_hardened(unauthenticated)
    # the rate limiter answers before the app: its 429 and 403 are hardened too
    async with atomic(get_resources().session_factory) as session:
        await set_config(session, "RATE_LIMIT_DEFAULT", "1/minute", actor=Actor.system("tests"))
    async with app_with(get_settings(), peer="203.0.113.7") as stranger:
        assert (await stranger.get("/merchant/me")).status_code == 401
        limited = await stranger.get("/merchant/me")
        assert limited.status_code == 429
        assert_hardened(limited)
    await block_ip(get_resources().redis, "198.51.100.9", 60, "tests")
    async with app_with(get_settings(), peer="198.51.100.9") as blocked:
        refused = await blocked.get("/merchant/me")
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "ip_blocked")
        assert_hardened(refused)


async def test_hsts_is_sent_in_production_only(app_with: Any) -> None:
    async with app_with(get_settings().with_overrides(environment="production")) as production:
        answer = await production.get("/health")
    assert answer.headers.get_list("strict-transport-security") == ["max-age=31536000; includeSubDomains"]
    assert_hardened(answer)


async def test_the_api_docs_still_render_their_scripts(client: Any) -> None:
    for path in ("/schema/swagger", "/schema/scalar"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert "<script" in page.text
        assert_hardened(page)
        [policy] = page.headers.get_list("content-security-policy")
        assert policy == "frame-ancestors 'none'"  # no script-src/default-src: the UI loads its scripts
    assert (await client.get("/schema/openapi.json")).status_code == 200


async def _payout_for_trader(world: World, client: Any) -> tuple[str, dict[str, str]]:
    trader = await make_user(world.session_factory, Role.TRADER, profile={"in_work": True})
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 10**10, "coll")
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 10**9, "float")
    await world.requisite(trader.id)
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="po-sec", direction="payout"))
    return outcome.reference, bearer(await token_for(client, Role.TRADER, trader.login))


async def test_downloads_are_attachments_and_active_uploads_are_refused(world: World, client: Any) -> None:
    reference, headers = await _payout_for_trader(world, client)
    url = f"/trader/orders/{reference}/receipts"
    uploaded = await client.post(url, headers=headers, files={"data": ("paid.png", PNG, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    link = uploaded.json()["url"]
    downloaded = await client.get(link)
    assert downloaded.status_code == 200
    assert downloaded.content == PNG
    assert downloaded.headers["content-type"] == "image/png"
    name = link.split("?")[0].rsplit("/", 1)[-1]
    assert downloaded.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert_hardened(downloaded)
    # the download's own policy (nothing may run, even if a browser rendered it) is not doubled
    [policy] = downloaded.headers.get_list("content-security-policy")
    assert "sandbox" in policy

    polyglot = await client.post(
        url, headers=headers, files={"data": ("paid.png", PNG + b"<html><script>alert(1)</script>", "image/png")}
    )
    assert polyglot.status_code == 422, polyglot.text
    assert polyglot.json()["error"]["details"]["field"] == "file"
    scripted = await client.post(
        url,
        headers=headers,
        files={"data": ("paid.pdf", b"%PDF-1.4\n1 0 obj<</OpenAction 2 0 R>>endobj\n%%EOF", "application/pdf")},
    )
    assert scripted.status_code == 422, scripted.text
    assert scripted.json()["error"]["code"] == "validation_failed"
    assert scripted.json()["error"]["details"]["field"] == "file"


@pytest.fixture
def s3() -> Iterator[S3Storage]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).create_bucket(Bucket="receipts")
    settings = get_settings().with_overrides(
        s3_endpoint_url=endpoint, s3_bucket_name="receipts", s3_access_key="test", s3_secret_key="test"
    )
    yield S3Storage(settings)
    server.stop()


async def test_s3_links_ask_for_an_attachment(s3: S3Storage) -> None:
    await s3.put("receipts/9/abc.pdf", b"%PDF-1.4 x", "application/pdf")
    url = await s3.download_url("receipts/9/abc.pdf", 60)
    assert "response-content-disposition=attachment" in url
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="abc.pdf"'


PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


@pytest.fixture
async def cors_client(client: Any) -> AsyncIterator[Any]:
    settings = get_settings().with_overrides(cors_allow_origins=("https://shop.example",))
    async with AsyncTestClient(app=create_asgi_app(settings)) as listed:
        yield listed


async def test_cors_is_closed_by_default(client: Any) -> None:
    for origin in ("https://shop.example", "https://evil.example"):
        preflight = await client.options("/merchant/auth/token", headers={"Origin": origin, **PREFLIGHT})
        assert "access-control-allow-origin" not in preflight.headers
        simple = await client.get("/health", headers={"Origin": origin})
        assert "access-control-allow-origin" not in simple.headers


async def test_cors_answers_listed_origins_only(cors_client: Any) -> None:
    listed = await cors_client.options("/merchant/auth/token", headers={"Origin": "https://shop.example", **PREFLIGHT})
    assert listed.status_code == 204, listed.text
    assert listed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in listed.headers["access-control-allow-methods"]
    assert_hardened(listed)
    simple = await cors_client.get("/health", headers={"Origin": "https://shop.example"})
    assert simple.headers["access-control-allow-origin"] == "https://shop.example"
    for origin in ("https://evil.example", "https://shop.example.evil.example", "http://shop.example"):
        refused = await cors_client.options("/merchant/auth/token", headers={"Origin": origin, **PREFLIGHT})
        assert "access-control-allow-origin" not in refused.headers, origin
        assert (
            "access-control-allow-origin" not in (await cors_client.get("/health", headers={"Origin": origin})).headers
        )
