"""The merchant cabinet (`/merchant/*`): stores, API keys, signing secrets, callbacks, orders, balances."""

from __future__ import annotations

from litestar import Router

from jivapay.domain.identity.roles import Role
from jivapay.http.guards import require_role
from jivapay.http.identity.me import me_handler
from jivapay.http.ledger import balances
from jivapay.http.merchants import callbacks
from jivapay.http.merchants.stores import DESCRIPTIONS, store_handlers
from jivapay.http.openapi import document
from jivapay.http.orders import merchant_orders
from jivapay.http.wallet import addresses, deposits, payouts, withdrawals

HANDLERS = [
    me_handler(Role.MERCHANT),
    *store_handlers,
    *callbacks.handlers,
    *merchant_orders.handlers,
    *balances.merchant_handlers,
    *addresses.merchant_handlers,
    *deposits.merchant_handlers,
    *withdrawals.merchant_handlers,
    *payouts.merchant_handlers,
]
document(HANDLERS, DESCRIPTIONS)
router = Router(path="/merchant", route_handlers=HANDLERS, guards=[require_role(Role.MERCHANT)])
