"""Merchant-supplied URLs (callbacks, return pages): syntax and scheme.

Where a callback URL points (private networks, metadata endpoints) is checked when it is
called, against what the name resolves to then (services/callbacks.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from jivapay.domain.errors import ValidationFailed

MAX_URL_LENGTH = 2048


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
