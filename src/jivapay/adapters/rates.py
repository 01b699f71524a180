"""Where exchange rates come from besides admins: a pluggable source, one HTTP implementation."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import httpx

from jivapay.domain.errors import JivaPayError


class RateSourceError(JivaPayError, code="rate_source_failed", status=502, message="The exchange rate source failed"):
    pass


class RateSource(Protocol):
    name: str

    async def fetch(self, currency: str) -> Decimal: ...


class HttpJsonRateSource:
    """GET ``url_template.format(currency=…)``; the rate is the JSON field ``field`` (dotted path).

    Numbers are parsed as Decimal straight from the JSON text, never through float.
    """

    def __init__(self, url_template: str, field: str = "rate", timeout: float = 5.0) -> None:
        self.url_template = url_template
        self.field = field
        self.timeout = timeout
        self.name = "http:" + (httpx.URL(url_template.replace("{currency}", "X")).host or "source")

    async def fetch(self, currency: str) -> Decimal:
        url = self.url_template.format(currency=currency)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(url)
            response.raise_for_status()
            document: Any = json.loads(response.text, parse_float=Decimal, parse_int=Decimal)
        except (httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
            raise RateSourceError(f"rate source failed for {currency}", reason=type(exc).__name__) from exc
        value: Any = document
        for part in self.field.split("."):
            if not isinstance(value, dict) or part not in value:
                raise RateSourceError(f"rate source answer has no {self.field!r}", currency=currency)
            value = value[part]
        try:
            rate = Decimal(str(value)) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise RateSourceError("rate source answer is not a number", currency=currency) from None
        if not rate.is_finite() or rate <= 0:
            raise RateSourceError("rate source answer is not a positive number", currency=currency)
        return rate
