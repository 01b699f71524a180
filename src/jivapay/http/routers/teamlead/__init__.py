"""The teamlead cabinet (`/teamlead/*`)."""

from __future__ import annotations

from litestar import Router

from jivapay.domain.identity import Role
from jivapay.http.guards import require_role
from jivapay.http.routers.me import me_handler

router = Router(path="/teamlead", route_handlers=[me_handler(Role.TEAMLEAD)], guards=[require_role(Role.TEAMLEAD)])
