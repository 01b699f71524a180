"""The trader cabinet (`/trader/*`)."""

from __future__ import annotations

from litestar import Router

from jivapay.domain.identity.roles import Role
from jivapay.http.guards import require_role
from jivapay.http.identity.me import me_handler
from jivapay.http.ledger import balances
from jivapay.http.orders import requisites, trader_orders
from jivapay.http.wallet import addresses, deposits, withdrawals

router = Router(
    path="/trader",
    route_handlers=[
        me_handler(Role.TRADER),
        *balances.trader_handlers,
        *requisites.trader_handlers,
        *trader_orders.handlers,
        *addresses.trader_handlers,
        *deposits.trader_handlers,
        *withdrawals.trader_handlers,
    ],
    guards=[require_role(Role.TRADER)],
)
