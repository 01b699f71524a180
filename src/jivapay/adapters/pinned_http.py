"""Outgoing HTTP to an address resolved and checked beforehand (merchant callbacks).

``resolve_host`` is the one DNS lookup; a ``PinnedTransport`` then connects to the chosen
address whatever the name resolves to by then (DNS rebinding), while the request keeps
the name: the ``Host`` header, TLS SNI and certificate verification all use it (httpcore's
``sni_hostname`` request extension). ``PinnedPool`` is the process's one transport for
every target: each request carries its ``Pin`` and goes through the connections of that
(name, address) only. Redirects are never followed and no proxy or ``.netrc`` from the
environment applies.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PIN_EXTENSION = "jivapay.pin"  # the request extension that carries a request's Pin


@dataclasses.dataclass(frozen=True, slots=True)
class Pin:
    """Where a request for ``hostname`` (ASCII, as httpx's ``URL.raw_host``) may connect: ``address``."""

    hostname: str
    address: IPAddress


def split_url(url: str) -> tuple[str, str, int | None]:
    """(scheme, ASCII host, explicit port or None) as httpx will send ``url``; ValueError when it cannot."""
    try:
        parsed = httpx.URL(url)
        return parsed.scheme, parsed.raw_host.decode("ascii"), parsed.port
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise ValueError(str(exc)) from None


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order.

    Tests replace this function to make a fake name resolve where they want.
    """
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class PinnedTransport(httpx.AsyncBaseTransport):
    """Sends requests for ``hostname`` (ASCII, as httpx's ``URL.raw_host``) to ``address``;
    refuses any other host. Its connections (kept alive per ``limits``) serve only this pair."""

    def __init__(
        self,
        hostname: str,
        address: IPAddress,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        self.hostname = hostname
        self.address = address
        self._inner = httpx.AsyncHTTPTransport(
            verify=verify, trust_env=False, retries=0, limits=limits or httpx.Limits()
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.raw_host.decode("ascii") != self.hostname:
            raise httpx.ConnectError(f"this client only calls {self.hostname}", request=request)
        # the Host header was set from the original URL when the request was built
        request.url = request.url.copy_with(host=str(self.address))
        request.extensions = {**request.extensions, "sni_hostname": self.hostname}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclasses.dataclass(slots=True)
class _Target:
    transport: PinnedTransport
    in_flight: int = 0
    last_used: float = 0.0


class PinnedPool(httpx.AsyncBaseTransport):
    """Every request goes through a ``PinnedTransport`` of its own ``Pin`` (the request extension
    ``PIN_EXTENSION``); a request without one is refused.

    The pool is keyed by (name, address): a connection is never reused for another name (its TLS
    was verified for one) nor for another address (the pin is the address checked for this
    request). Targets unused for ``idle_seconds`` are closed, and the least recently used idle
    ones beyond ``max_targets``.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext,
        limits: httpx.Limits,
        idle_seconds: float,
        max_targets: int = 256,
    ) -> None:
        self._verify = verify
        self._limits = limits
        self._idle_seconds = idle_seconds
        self._max_targets = max_targets
        self._targets: collections.OrderedDict[Pin, _Target] = collections.OrderedDict()  # least recently used first

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pin = request.extensions.get(PIN_EXTENSION)
        if not isinstance(pin, Pin):
            raise httpx.ConnectError("this client only calls pinned targets", request=request)
        now = time.monotonic()
        target = self._targets.get(pin)
        if target is None:
            target = self._targets[pin] = _Target(
                PinnedTransport(pin.hostname, pin.address, verify=self._verify, limits=self._limits)
            )
        self._targets.move_to_end(pin)
        target.in_flight += 1
        target.last_used = now
        try:
            await self._close_idle(now)
            response = await target.transport.handle_async_request(request)
            if not isinstance(response.stream, httpx.AsyncByteStream):
                raise TypeError("an async transport answered with a sync body")
        except BaseException:
            self._release(target)
            raise
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ReleasedOnClose(response.stream, lambda: self._release(target)),
            extensions=response.extensions,
        )

    def _release(self, target: _Target) -> None:
        target.in_flight -= 1
        target.last_used = time.monotonic()

    async def _close_idle(self, now: float) -> None:
        idle = [
            pin
            for index, (pin, target) in enumerate(self._targets.items())
            if target.in_flight == 0
            and (now - target.last_used > self._idle_seconds or len(self._targets) - index > self._max_targets)
        ]
        closing = [self._targets.pop(pin).transport for pin in idle]  # out of reach before the first await
        for transport in closing:
            await transport.aclose()

    @property
    def targets(self) -> int:
        """How many (name, address) pairs hold a pool now."""
        return len(self._targets)

    async def aclose(self) -> None:
        closing = [target.transport for target in self._targets.values()]
        self._targets.clear()
        for transport in closing:
            await transport.aclose()


class _ReleasedOnClose(httpx.AsyncByteStream):
    """A response body that tells the pool when the request is over (read or dropped)."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._release is not None:
                release, self._release = self._release, None
                release()
