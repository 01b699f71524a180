"""The support cabinet (`/support/*`)."""

from __future__ import annotations

from litestar import Router

from jivapay.domain.identity import Role
from jivapay.http.guards import require_role
from jivapay.http.routers.me import me_handler

router = Router(path="/support", route_handlers=[me_handler(Role.SUPPORT)], guards=[require_role(Role.SUPPORT)])
