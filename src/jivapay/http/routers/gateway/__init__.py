"""The merchant API (`/gateway/*`): a store's API key (or an order token) instead of a role."""

from __future__ import annotations

from litestar import Router

from jivapay.http.merchants.gateway import HANDLERS

router = Router(path="/gateway", route_handlers=HANDLERS)
