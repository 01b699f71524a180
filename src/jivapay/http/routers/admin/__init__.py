"""The admin cabinet (`/admin/*`): every route needs the admin role, and each its permission flag."""

from __future__ import annotations

from litestar import Router

from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.status import Party
from jivapay.http.guards import FINANCES, require_role
from jivapay.http.identity.me import me_handler
from jivapay.http.identity.users import admin_handlers as users
from jivapay.http.ledger import balances, commissions, rates, settlement
from jivapay.http.orders import fraud, requisites
from jivapay.http.orders.staff_orders import order_handlers
from jivapay.http.platform import audit, settings
from jivapay.http.staff import stats
from jivapay.http.wallet import deposits, networks, payouts, withdrawals

router = Router(
    path="/admin",
    route_handlers=[
        me_handler(Role.ADMIN),
        *users,
        *balances.admin_handlers,
        *requisites.admin_handlers,
        *rates.route_handlers,
        *stats.route_handlers,
        *order_handlers("admin", Party.ADMIN, guards=FINANCES),
        *settlement.route_handlers,
        *settings.route_handlers,
        *fraud.route_handlers,
        *commissions.route_handlers,
        *audit.route_handlers,
        *deposits.admin_handlers,
        *networks.admin_handlers,
        *withdrawals.admin_handlers,
        *payouts.admin_handlers,
    ],
    guards=[require_role(Role.ADMIN)],
)
