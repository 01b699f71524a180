"""The teamlead cabinet (`/teamlead/*`): the team's traders, their traffic, their statistics, the reward
balance. Only the teamlead's own traders exist here: another team's trader is a 404 on every route."""

from __future__ import annotations

from litestar import Router

from jivapay.domain.identity.roles import Role
from jivapay.http.guards import require_role
from jivapay.http.identity.me import me_handler
from jivapay.http.ledger import balances
from jivapay.http.openapi import document
from jivapay.http.staff.teamlead import DESCRIPTIONS, team_handlers
from jivapay.http.wallet import addresses, deposits, withdrawals

HANDLERS = [
    me_handler(Role.TEAMLEAD),
    *team_handlers,
    *balances.teamlead_handlers,
    *addresses.teamlead_handlers,
    *deposits.teamlead_handlers,
    *withdrawals.teamlead_handlers,
]
document(HANDLERS, DESCRIPTIONS)
router = Router(path="/teamlead", route_handlers=HANDLERS, guards=[require_role(Role.TEAMLEAD)])
