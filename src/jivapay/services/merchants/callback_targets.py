"""Where a merchant's callback may go: checked when the URL is saved and again when sent.

``check_target`` is the one resolver: it resolves the host once, refuses the target when
any address is not public (domain/merchants/urls.py; private ones too with CALLBACK_ALLOW_PRIVATE),
and returns it pinned to the chosen address. Delivery connects to exactly that address
(adapters/callback_sender.py, adapters/pinned_http.py), so the DNS cannot answer
differently between check and call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress

from jivapay.adapters import pinned_http
from jivapay.domain.errors import ValidationFailed
from jivapay.domain.merchants.urls import IPAddress, UnsafeTarget, check_merchant_url, pinned_address
from jivapay.settings import Settings

SEND_RESOLVE_SECONDS = 5.0
SAVE_RESOLVE_SECONDS = 3.0  # a merchant is waiting for the answer

__all__ = ["PinnedTarget", "UnsafeTarget", "check_callback_url", "check_target"]


@dataclasses.dataclass(frozen=True, slots=True)
class PinnedTarget:
    url: str
    hostname: str  # ASCII (IDNA) form: the Host header, TLS SNI and certificate name
    port: int
    address: IPAddress  # where the connection goes

    @property
    def pin(self) -> pinned_http.Pin:
        return pinned_http.Pin(self.hostname, self.address)


async def check_target(settings: Settings, url: str, *, resolve_seconds: float = SEND_RESOLVE_SECONDS) -> PinnedTarget:
    """The target of ``url`` pinned to one checked address; UnsafeTarget (a message safe to
    show the merchant: no addresses) when it must not be called."""
    try:
        scheme, hostname, explicit_port = pinned_http.split_url(url)
    except ValueError:
        raise UnsafeTarget("not an http(s) URL") from None
    if scheme not in ("http", "https") or not hostname:
        raise UnsafeTarget("not an http(s) URL")
    if settings.callback_urls_https_only and scheme != "https":
        raise UnsafeTarget("callbacks go over https in production")
    port = explicit_port or (443 if scheme == "https" else 80)
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(hostname)]  # a literal address: no DNS
    except ValueError:
        try:
            addresses = await asyncio.wait_for(pinned_http.resolve_host(hostname, port), resolve_seconds)
        except (OSError, TimeoutError, UnicodeError):
            raise UnsafeTarget("cannot resolve the callback host") from None
    address = pinned_address(addresses, allow_private=settings.callbacks_may_reach_private)
    return PinnedTarget(url, hostname, port, address)


async def check_callback_url(settings: Settings, url: str | None, *, field: str = "callback_url") -> str | None:
    """A callback URL about to be saved: the trimmed URL (None for empty), or 422 on ``field``.

    With CALLBACK_ALLOW_PRIVATE (development, tests) only the syntax is checked here: every
    address is allowed then, and the receiver may not resolve yet; sending checks again.
    """
    url = check_merchant_url(url, https_only=settings.callback_urls_https_only, field=field)
    if url is None or settings.callbacks_may_reach_private:
        return url
    try:
        await check_target(settings, url, resolve_seconds=SAVE_RESOLVE_SECONDS)
    except UnsafeTarget as exc:
        raise ValidationFailed(f"{field} is refused: {exc}", field=field) from None
    return url
