"""The HTTP side of merchant callbacks: one pooled client per process (per event loop, in
adapters/resources.py), made on first use and closed with the other resources.

Every request is pinned to the address its target was checked at (adapters/pinned_http.py):
connections are pooled per (name, address) only, no redirect is followed, no proxy, cookie
or ``.netrc`` applies, and at most ``read_bytes`` of a reply are read. What to send and
whether the target may be called is the service's (services/merchants/callbacks.py).
"""

from __future__ import annotations

import dataclasses
import http.cookiejar
import ssl
from collections.abc import Mapping

import httpx

from jivapay.adapters.pinned_http import PIN_EXTENSION, Pin, PinnedPool

__all__ = ["CallbackSender", "Pin", "Reply", "SendFailed", "failure_reason"]

KEEPALIVE_SECONDS = 15.0  # an idle connection to a merchant is closed after this
KEEPALIVE_PER_TARGET = 4  # idle connections kept per (name, address)

# what the merchant is told of a failed request: a fixed text per kind, never the exception's
# own (it may name our addresses or internals); the first matching kind wins
_FAILURES: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.TimeoutException, "timed out"),
    (httpx.ConnectError, "could not connect (TCP or TLS)"),
    (httpx.RemoteProtocolError, "the reply is not valid HTTP"),
    (httpx.NetworkError, "the connection broke"),
    (httpx.HTTPError, "the request failed"),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    head: bytes  # the first bytes of the body as sent (not decompressed), at most read_bytes


class SendFailed(Exception):
    """No reply. ``reason`` names the failure for the merchant; the cause is the httpx error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def failure_reason(exc: httpx.HTTPError) -> str:
    """``"<class>: <fixed message>"``, e.g. ``"ConnectError: could not connect (TCP or TLS)"``."""
    message = next(text for kind, text in _FAILURES if isinstance(exc, kind))
    return f"{type(exc).__name__}: {message}"


def _no_cookies() -> http.cookiejar.CookieJar:
    """A jar that keeps nothing: one merchant's Set-Cookie never rides along on a later callback."""
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class CallbackSender:
    """POSTs a callback to a pinned target and reads the head of the reply."""

    def __init__(self, *, verify: ssl.SSLContext | None = None) -> None:
        self._verify = verify  # tests trust their own CA; by default certifi's, as httpx does
        self._client: httpx.AsyncClient | None = None
        self._pool: PinnedPool | None = None

    def _pooled(self) -> httpx.AsyncClient:
        if self._client is None:
            self._pool = PinnedPool(
                verify=self._verify or httpx.create_ssl_context(trust_env=False),
                limits=httpx.Limits(
                    max_connections=None,
                    max_keepalive_connections=KEEPALIVE_PER_TARGET,
                    keepalive_expiry=KEEPALIVE_SECONDS,
                ),
                idle_seconds=KEEPALIVE_SECONDS,
            )
            self._client = httpx.AsyncClient(
                transport=self._pool, follow_redirects=False, trust_env=False, cookies=_no_cookies()
            )
        return self._client

    @property
    def pooled_targets(self) -> int:
        """How many (name, address) pairs have connections pooled now."""
        return self._pool.targets if self._pool is not None else 0

    async def post(
        self,
        url: str,
        pin: Pin,
        *,
        body: bytes,
        headers: Mapping[str, str],
        phase_timeout: float,
        read_bytes: int,
    ) -> Reply:
        """The status and the first ``read_bytes`` of the reply; SendFailed when there is none.
        ``phase_timeout`` bounds each of connecting, writing, reading and waiting for a connection.

        The connection goes to ``pin.address`` whatever ``url``'s host resolves to now; a URL
        whose host is not ``pin.hostname`` is refused."""
        try:
            async with self._pooled().stream(
                "POST", url, content=body, headers=headers, timeout=phase_timeout, extensions={PIN_EXTENSION: pin}
            ) as response:
                raw = b""
                async for chunk in response.aiter_raw():
                    raw += chunk
                    if len(raw) >= read_bytes:
                        break  # the rest is not read; the connection is dropped, not reused
        except httpx.HTTPError as exc:
            raise SendFailed(failure_reason(exc)) from exc
        return Reply(response.status_code, raw[:read_bytes])

    async def aclose(self) -> None:
        client, self._client, self._pool = self._client, None, None
        if client is not None:
            await client.aclose()
