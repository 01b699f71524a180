"""The callback sender's one pooled client: connections are kept per (name, pinned address) only."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
from collections.abc import AsyncIterator

import httpx
import pytest

from jivapay.adapters.callback_sender import CallbackSender
from jivapay.adapters.pinned_http import PIN_EXTENSION, Pin, PinnedPool

LOOPBACK = ipaddress.ip_address("127.0.0.1")
SECOND_LOOPBACK = ipaddress.ip_address("127.0.0.2")


class KeepAliveServer:
    """HTTP/1.1 with keep-alive on 127.0.0.1 and 127.0.0.2 (one port): records, per request,
    the connection it came on, the address it was dialled at, its Host and Cookie headers."""

    def __init__(self, reply: bytes = b"ok") -> None:
        self.reply = reply
        self.requests: list[dict[str, object]] = []
        self.closed: list[int] = []
        self._connections = itertools.count(1)
        self._servers: list[asyncio.Server] = []

    async def start(self) -> int:
        first = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(first.sockets[0].getsockname()[1])
        self._servers = [first, await asyncio.start_server(self._serve, "127.0.0.2", self.port)]
        return self.port

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = next(self._connections)
        dialled = writer.get_extra_info("sockname")[0]
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in head.split("\r\n")[1:] if line)
                }
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(
                    {
                        "connection": connection,
                        "dialled": dialled,
                        "host": headers.get("host"),
                        "cookie": headers.get("cookie"),
                    }
                )
                writer.write(
                    b"HTTP/1.1 200 OK\r\nSet-Cookie: session=merchant-a; Path=/\r\n"
                    + f"Content-Length: {len(self.reply)}\r\n\r\n".encode()
                    + self.reply
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.append(connection)
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[KeepAliveServer]:
    running = KeepAliveServer()
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def sender() -> AsyncIterator[CallbackSender]:
    one = CallbackSender()
    yield one
    await one.aclose()


async def _post(sender: CallbackSender, name: str, address: object, port: int, *, read_bytes: int = 4096) -> bytes:
    assert isinstance(address, ipaddress.IPv4Address)
    reply = await sender.post(
        f"http://{name}:{port}/cb", Pin(name, address), body=b"{}", headers={}, phase_timeout=5, read_bytes=read_bytes
    )
    assert reply.status_code == 200
    return reply.head


async def test_one_target_reuses_its_connection(server: KeepAliveServer, sender: CallbackSender) -> None:
    for _ in range(3):
        assert await _post(sender, "a.example.test", LOOPBACK, server.port) == b"ok"
    assert [r["connection"] for r in server.requests] == [1, 1, 1]
    assert sender.pooled_targets == 1


async def test_names_on_one_address_never_share_a_connection(server: KeepAliveServer, sender: CallbackSender) -> None:
    # TLS would have been verified for one name only: another name gets its own connection
    for name in ("a.example.test", "b.example.test", "a.example.test", "b.example.test"):
        await _post(sender, name, LOOPBACK, server.port)
    seen = [(r["host"], r["connection"]) for r in server.requests]
    port = server.port
    assert seen == [(f"a.example.test:{port}", 1), (f"b.example.test:{port}", 2)] * 2
    assert sender.pooled_targets == 2


async def test_a_name_pinned_elsewhere_is_dialled_there(server: KeepAliveServer, sender: CallbackSender) -> None:
    # the name now resolves (and was checked) elsewhere: the kept connection to the old address is not used
    for address in (LOOPBACK, SECOND_LOOPBACK, SECOND_LOOPBACK):
        await _post(sender, "a.example.test", address, server.port)
    assert [(r["dialled"], r["connection"]) for r in server.requests] == [
        ("127.0.0.1", 1),
        ("127.0.0.2", 2),
        ("127.0.0.2", 2),
    ]


async def test_no_cookie_rides_along(server: KeepAliveServer, sender: CallbackSender) -> None:
    for name in ("a.example.test", "a.example.test", "b.example.test"):
        await _post(sender, name, LOOPBACK, server.port)
    assert [r["cookie"] for r in server.requests] == [None, None, None]


async def test_a_long_reply_is_cut_and_its_connection_not_reused(
    server: KeepAliveServer, sender: CallbackSender
) -> None:
    server.reply = b"x" * 200_000
    assert await _post(sender, "a.example.test", LOOPBACK, server.port, read_bytes=4096) == b"x" * 4096
    server.reply = b"ok"
    assert await _post(sender, "a.example.test", LOOPBACK, server.port) == b"ok"
    assert [r["connection"] for r in server.requests] == [1, 2]
    assert sender._pool is not None
    assert [target.in_flight for target in sender._pool._targets.values()] == [0]  # the cut request was let go


async def test_idle_targets_are_closed(server: KeepAliveServer) -> None:
    pool = PinnedPool(verify=httpx.create_ssl_context(), limits=httpx.Limits(), idle_seconds=0)
    async with httpx.AsyncClient(transport=pool) as client:
        for name in ("a.example.test", "b.example.test"):
            pin = Pin(name, LOOPBACK)
            response = await client.post(f"http://{name}:{server.port}/cb", extensions={PIN_EXTENSION: pin})
            assert response.status_code == 200
        assert pool.targets == 1  # a's went when b's came
        for _ in range(50):
            if server.closed:
                break
            await asyncio.sleep(0.01)
        assert server.closed == [1]


async def test_the_least_recently_used_idle_target_goes_beyond_the_limit(server: KeepAliveServer) -> None:
    pool = PinnedPool(verify=httpx.create_ssl_context(), limits=httpx.Limits(), idle_seconds=60, max_targets=2)
    async with httpx.AsyncClient(transport=pool) as client:
        for name in ("a.example.test", "b.example.test", "a.example.test", "c.example.test"):
            pin = Pin(name, LOOPBACK)
            await client.post(f"http://{name}:{server.port}/cb", extensions={PIN_EXTENSION: pin})
        assert sorted(pin.hostname for pin in pool._targets) == ["a.example.test", "c.example.test"]
