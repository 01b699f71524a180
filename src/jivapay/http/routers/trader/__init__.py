"""The trader cabinet (`/trader/*`)."""

from __future__ import annotations

from litestar import Router

from jivapay.domain.identity.roles import Role
from jivapay.http.guards import require_role
from jivapay.http.routers import balances, requisites, trader_orders
from jivapay.http.routers.me import me_handler

router = Router(
    path="/trader",
    route_handlers=[
        me_handler(Role.TRADER),
        *balances.trader_handlers,
        *requisites.trader_handlers,
        *trader_orders.handlers,
    ],
    guards=[require_role(Role.TRADER)],
)
