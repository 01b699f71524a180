"""The support cabinet (`/support/*`): order search and cases, notes, disputes with SLA, the fraud
manual-review queue. Every action is audited."""

from __future__ import annotations

from litestar import Router

from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.status import Party
from jivapay.http.guards import require_role
from jivapay.http.identity.me import me_handler
from jivapay.http.orders.disputes import support_handlers
from jivapay.http.orders.staff_orders import order_handlers

router = Router(
    path="/support",
    route_handlers=[me_handler(Role.SUPPORT), *order_handlers("support", Party.SUPPORT), *support_handlers],
    guards=[require_role(Role.SUPPORT)],
)
