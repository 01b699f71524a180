"""Time ranges from query strings: a time without a zone is UTC, and the start comes first."""

from __future__ import annotations

import datetime as dt

from jivapay.domain.errors import ValidationFailed


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive time is read as UTC (comparing naive with aware times is an error otherwise)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def check_period(
    start: dt.datetime | None, end: dt.datetime | None, *, field: str = "created_from"
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(start, end) as aware times; ValidationFailed when the start is not before the end."""
    start, end = as_utc(start), as_utc(end)
    if start is not None and end is not None and start >= end:
        raise ValidationFailed(f"{field} must be before the end of the period", field=field)
    return start, end


def rfc3339(value: dt.datetime) -> str:
    """A moment as every answer and callback writes it: UTC, ``Z`` (``2026-11-25T16:40:12.123456Z``),
    the way msgspec encodes a datetime field — one encoding across the API."""
    return (as_utc(value) or value).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
