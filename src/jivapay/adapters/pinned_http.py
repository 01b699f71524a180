"""Outgoing HTTP to an address resolved and checked beforehand (merchant callbacks).

``resolve_host`` is the one DNS lookup; ``pinned_client`` then connects to the chosen
address whatever the name resolves to by then (DNS rebinding), while the request keeps
the name: the ``Host`` header, TLS SNI and certificate verification all use it (httpcore's
``sni_hostname`` request extension). Redirects are never followed and no proxy or
``.netrc`` from the environment applies.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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
    refuses any other host."""

    def __init__(self, hostname: str, address: IPAddress, *, verify: ssl.SSLContext | bool = True) -> None:
        self.hostname = hostname
        self.address = address
        self._inner = httpx.AsyncHTTPTransport(verify=verify, trust_env=False, retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.raw_host.decode("ascii") != self.hostname:
            raise httpx.ConnectError(f"this client only calls {self.hostname}", request=request)
        # the Host header was set from the original URL when the request was built
        request.url = request.url.copy_with(host=str(self.address))
        request.extensions = {**request.extensions, "sni_hostname": self.hostname}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def pinned_client(
    hostname: str, address: IPAddress, *, timeout: float, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """An httpx client whose every connection to ``hostname`` goes to ``address``."""
    return httpx.AsyncClient(
        transport=PinnedTransport(hostname, address, verify=verify),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
