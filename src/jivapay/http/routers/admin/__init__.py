"""The admin cabinet (`/admin/*`): every route needs the admin role, and each its permission flag."""

from __future__ import annotations

from litestar import Router

from jivapay.domain.identity.roles import Role
from jivapay.http.guards import require_role
from jivapay.http.identity.me import me_handler
from jivapay.http.identity.users import admin_handlers as users
from jivapay.http.ledger import balances, rates
from jivapay.http.orders import requisites
from jivapay.http.staff import operations, stats

router = Router(
    path="/admin",
    route_handlers=[
        me_handler(Role.ADMIN),
        *users,
        *balances.admin_handlers,
        *requisites.admin_handlers,
        *rates.route_handlers,
        *stats.route_handlers,
        *operations.route_handlers,
    ],
    guards=[require_role(Role.ADMIN)],
)
