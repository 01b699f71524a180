"""Callback targets are checked when saved and when sent, and the call goes to the checked address.

``callbacks.example.test`` does not resolve anywhere (``.test`` is reserved): the tests make
our resolver answer for it, so a request that reaches the local receiver was connected by
us to the pinned address, not by httpx asking the DNS again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from jivapay.adapters import pinned_http
from jivapay.adapters.callback_sender import CallbackSender, SendFailed
from jivapay.adapters.db.models import CallbackAttempt, CallbackEvent, Store, User
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.services.merchants import callbacks
from jivapay.settings import Settings, get_settings
from tests.factories import bearer, make_api_key, token_for
from tests.fixtures.receiver import Receiver
from tests.integration.conftest import World

NAME = "callbacks.example.test"
PAYIN = {"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "tg-1"}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FakeDns:
    """Our resolver's answers per name, in turn (the last one repeats), and who asked."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[Address]:
        self.asked.append(host)
        turns = self.answers.get(host)
        if not turns:
            raise OSError("Name or service not known")
        answer = turns.pop(0) if len(turns) > 1 else turns[0]
        return [ipaddress.ip_address(a) for a in answer]


@pytest.fixture
def system_dns_for_test_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any lookup of a ``.example.test`` name outside our resolver is recorded and fails."""
    outside: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str | bytes) and (host.decode() if isinstance(host, bytes) else host).endswith(
            ".example.test"
        ):
            outside.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return outside


def _strict() -> Settings:
    return get_settings().with_overrides(callback_allow_private="false")


async def _merchant_headers(world: World, client: Any) -> dict[str, str]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
        assert store is not None
        merchant = await session.get(User, store.merchant_id)
    assert merchant is not None
    return bearer(await token_for(client, Role.MERCHANT, merchant.login))


async def _test_event(world: World, url: str) -> CallbackEvent:
    async with atomic(world.session_factory) as session:
        return await callbacks.record_test_event(session, world.store_id, url, Actor.system("t"))


async def _attempts(world: World) -> list[CallbackAttempt]:
    async with world.session_factory() as session:
        return list((await session.scalars(select(CallbackAttempt).order_by(CallbackAttempt.id))).all())


# --- sending ---------------------------------------------------------------------------


async def test_the_call_goes_to_the_address_that_was_checked(
    world: World, monkeypatch: pytest.MonkeyPatch, system_dns_for_test_names: list[str]
) -> None:
    # the name answers 127.0.0.1 once, then (rebinding) an address nothing listens on
    dns = FakeDns({NAME: [["127.0.0.1"], ["192.0.2.1"]]})
    monkeypatch.setattr(pinned_http, "resolve_host", dns)
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        event = await _test_event(world, f"http://{NAME}:{port}/callback")
        assert await callbacks.deliver(world.session_factory, get_settings(), event.id) == "delivered"
    (request,) = receiver.requests
    assert request["headers"]["Host"] == f"{NAME}:{port}"
    assert request["path"] == "/callback"
    assert dns.asked == [NAME]  # one resolution per attempt: ours
    assert system_dns_for_test_names == []  # httpx never looked the name up
    (attempt,) = await _attempts(world)
    assert (attempt.status_code, attempt.error) == (200, None)


@pytest.mark.parametrize("answer", ["10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1"])
async def test_a_name_resolving_to_a_private_address_is_not_called(
    world: World, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    monkeypatch.setattr(pinned_http, "resolve_host", FakeDns({NAME: [[answer]]}))
    with Receiver() as receiver:
        event = await _test_event(world, f"http://{NAME}:{receiver.server.server_address[1]}/callback")
        assert await callbacks.deliver(world.session_factory, _strict(), event.id) == "pending"  # retried later
    assert receiver.requests == []
    (attempt,) = await _attempts(world)
    assert attempt.status_code is None
    assert attempt.error == "UnsafeTarget: the callback host resolves to a non-public address"


async def test_the_merchant_sees_a_short_clean_excerpt_of_the_reply(world: World, client: Any) -> None:
    reply = ("\x1b[2J<script>alert(1)</script>\r\n" + "\u202e\x00stack trace line\n" * 400).encode()
    with _ReplyServer(500, reply) as url:
        event = await _test_event(world, url)
        assert await callbacks.deliver(world.session_factory, get_settings(), event.id) == "pending"
    (attempt,) = await _attempts(world)
    assert attempt.status_code == 500
    assert attempt.response_snippet is not None
    assert len(attempt.response_snippet) <= 256
    assert all(ch.isprintable() for ch in attempt.response_snippet)
    assert attempt.response_snippet.startswith("[2J<script>alert(1)</script> stack trace line stack")
    headers = await _merchant_headers(world, client)
    detail = await client.get(f"/merchant/stores/{world.store_id}/callbacks/{event.event_id}", headers=headers)
    assert detail.status_code == 200
    (shown,) = detail.json()["history"]
    assert shown["response_snippet"] == attempt.response_snippet


async def test_a_refused_connection_is_reported_without_our_addresses(world: World) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    event = await _test_event(world, f"http://127.0.0.1:{port}/cb")
    assert await callbacks.deliver(world.session_factory, get_settings(), event.id) == "pending"
    (attempt,) = await _attempts(world)
    assert attempt.error == "ConnectError: could not connect (TCP or TLS)"


# --- saving ----------------------------------------------------------------------------


@pytest.fixture
def strict_api(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    """The API with private targets refused, and a DNS that knows three names."""
    strict = _strict()
    for module in (
        "jivapay.http.merchants.gateway",
        "jivapay.http.merchants.callbacks",
        "jivapay.services.merchants.callbacks",
    ):
        monkeypatch.setattr(f"{module}.get_settings", lambda: strict)
    dns = FakeDns(
        {
            "internal.example.test": [["10.1.2.3"]],
            "metadata.example.test": [["169.254.169.254"]],
            "shop.example.test": [["93.184.216.34"]],
        }
    )
    monkeypatch.setattr(pinned_http, "resolve_host", dns)
    return dns


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://internal.example.test/cb", "non-public address"),
        ("http://metadata.example.test/latest/meta-data", "non-public address"),
        ("http://[::ffff:10.0.0.1]/cb", "non-public address"),
        ("http://nowhere.example.test/cb", "cannot resolve"),
    ],
)
async def test_saving_a_callback_url_checks_where_it_leads(
    world: World, client: Any, strict_api: FakeDns, url: str, message: str
) -> None:
    headers = await _merchant_headers(world, client)
    _, key = await make_api_key(world.session_factory, (await _store(world)).merchant_id, world.store_id)
    saved = await client.put(f"/merchant/stores/{world.store_id}/settings", json={"callback_url": url}, headers=headers)
    ordered = await client.post("/gateway/payin/init", json={**PAYIN, "callback_url": url}, headers={"X-API-Key": key})
    tested = await client.post(f"/merchant/stores/{world.store_id}/callbacks/test", json={"url": url}, headers=headers)
    for response, field in ((saved, "callback_url"), (ordered, "callback_url"), (tested, "url")):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["details"]["field"] == field
        assert message in error["message"]
        assert "10.1.2.3" not in response.text
    assert (await _store(world)).settings.get("callback_url") is None
    async with world.session_factory() as session:
        assert (await session.scalars(select(CallbackEvent))).all() == []


async def test_a_public_callback_url_is_saved(world: World, client: Any, strict_api: FakeDns) -> None:
    headers = await _merchant_headers(world, client)
    url = "http://shop.example.test/jivapay/cb"
    saved = await client.put(f"/merchant/stores/{world.store_id}/settings", json={"callback_url": url}, headers=headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["callback_url"] == url
    assert strict_api.asked == ["shop.example.test"]


async def _store(world: World) -> Store:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    return store


# --- TLS: SNI and the certificate are the name's, the connection the pinned address's ----


def _certificates(name: str) -> tuple[bytes, bytes, bytes]:
    """A CA (PEM) and a server certificate for ``name`` it signed, with the server's key."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ca.public_bytes(pem), leaf.public_bytes(pem), key_pem


async def test_tls_uses_the_name_for_sni_and_the_certificate(tmp_path: Any) -> None:
    ca_pem, cert_pem, key_pem = _certificates(NAME)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    sni: list[str | None] = []
    hosts: list[str] = []
    server_context.sni_callback = lambda sock, name, context: sni.append(name)  # type: ignore[assignment,misc,return-value]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        hosts.extend(line.split(":", 1)[1].strip() for line in head.split("\r\n") if line.lower().startswith("host:"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    trust = ssl.create_default_context(cadata=ca_pem.decode())
    loopback = ipaddress.ip_address("127.0.0.1")
    sender = CallbackSender(verify=trust)
    try:
        reply = await sender.post(
            f"https://{NAME}:{port}/cb",
            pinned_http.Pin(NAME, loopback),
            body=b"{}",
            headers={},
            phase_timeout=5,
            read_bytes=16,
        )
        assert (reply.status_code, reply.head) == (200, b"ok")
        assert sni == [NAME]
        assert hosts == [f"{NAME}:{port}"]
        # the certificate is checked against the name, not against the address we dialled
        other = "other.example.test"
        with pytest.raises(SendFailed, match="ConnectError: could not connect") as refused:
            await sender.post(
                f"https://{other}:{port}/cb",
                pinned_http.Pin(other, loopback),
                body=b"{}",
                headers={},
                phase_timeout=5,
                read_bytes=16,
            )
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value.__cause__)
    finally:
        await sender.aclose()
        server.close()
        await server.wait_closed()


class _ReplyServer:
    """A receiver answering every POST with one status and body; yields its URL."""

    def __init__(self, status: int, body: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
