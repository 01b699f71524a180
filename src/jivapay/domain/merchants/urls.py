"""Merchant-supplied URLs (callbacks, return pages): syntax, scheme, and where they may lead.

A callback target is refused when any address its host resolves to is not public
(private, loopback, link-local such as cloud metadata, multicast, reserved…), looking
through IPv4-mapped, 6to4, Teredo and NAT64 wrappings. The resolution itself is I/O and
happens in services/merchants/callback_targets.py, once per check; the call then goes to the
address chosen here, never to a second answer of the DNS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from jivapay.domain.errors import ValidationFailed

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeTarget(Exception):
    """The callback URL leads somewhere we do not call (SSRF guard); the message is safe to show."""


def check_merchant_url(url: str | None, *, https_only: bool, field: str = "callback_url") -> str | None:
    """The trimmed URL, None for empty; ValidationFailed for anything else than an absolute
    http(s) URL without credentials (https only when ``https_only``)."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    allowed = ("https",) if https_only else ("https", "http")
    try:
        parts = urlsplit(url)
        bad = parts.scheme not in allowed or not parts.hostname or parts.username or parts.password
        _ = parts.port  # raises on a malformed port
    except ValueError:
        bad = True
    if bad or len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(
            f"{field} must be an absolute {' or '.join(allowed)} URL without credentials "
            f"(at most {MAX_URL_LENGTH} characters)",
            field=field,
        )
    return url


def _unwrapped(address: IPAddress) -> list[IPAddress]:
    """The address and every IPv4 address it carries (6to4, Teredo, NAT64)."""
    out: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None:
            out.append(address.sixtofour)
        if address.teredo is not None:
            out.extend(address.teredo)
        if address in _NAT64:
            out.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return out


def is_callable_address(address: IPAddress, *, allow_private: bool) -> bool:
    """May a callback connect to this address? ``allow_private`` (development, tests)
    admits private and loopback ones, never multicast or unspecified ones."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for candidate in _unwrapped(address):
        if candidate.is_multicast or candidate.is_unspecified:
            return False
        if allow_private:
            continue
        if not candidate.is_global or candidate.is_private or candidate.is_reserved or candidate.is_link_local:
            return False
    return True


def pinned_address(addresses: Sequence[IPAddress], *, allow_private: bool) -> IPAddress:
    """The address to connect to: the first one, when every one is callable (a name that
    resolves to one public and one private address is refused as a whole)."""
    if not addresses:
        raise UnsafeTarget("the callback host does not resolve")
    if not all(is_callable_address(a, allow_private=allow_private) for a in addresses):
        raise UnsafeTarget("the callback host resolves to a non-public address")
    first = addresses[0]
    if isinstance(first, ipaddress.IPv6Address) and first.ipv4_mapped is not None:
        return first.ipv4_mapped
    return first
