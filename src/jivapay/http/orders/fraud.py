"""The fraud blocklists (`/admin/fraud/blocklists/*`, MANAGE_SETTINGS)."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from litestar import Request
from litestar.status_codes import HTTP_204_NO_CONTENT

from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import BlocklistKindChoice
from jivapay.http.guards import SETTINGS
from jivapay.http.routes import RouteGroup
from jivapay.services.orders import fraud

admin_routes = RouteGroup("admin", guards=SETTINGS)


class BlocklistEntry(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"value": "220220"}

    value: str


@admin_routes.get(
    "/fraud/blocklists",
    operation_id="admin_list_blocklists",
    description="Client ids, client IPs and card BINs whose orders are always denied.",
)
async def list_blocklists() -> dict[str, list[str]]:
    async with transaction("admin.blocklists") as session:
        return await fraud.blocklists(session)


@admin_routes.post(
    "/fraud/blocklists/{kind:str}",
    operation_id="admin_add_to_blocklist",
    status_code=200,
    description="Add a value to `client_ids`, `ips` or `card_bins` (6-8 digits); the next order is checked "
    "against it. Adding one already there changes nothing.",
)
async def add_to_blocklist(
    request: Request[Any, Any, Any], kind: BlocklistKindChoice, data: BlocklistEntry
) -> list[str]:
    async with transaction("admin.blocklists") as session:
        return await fraud.change_blocklist(
            session, kind, data.value, add=True, actor=current_principal(request).actor, ip=client_ip(request)
        )


@admin_routes.delete(
    "/fraud/blocklists/{kind:str}/{value:str}",
    operation_id="admin_remove_from_blocklist",
    status_code=HTTP_204_NO_CONTENT,
)
async def remove_from_blocklist(request: Request[Any, Any, Any], kind: BlocklistKindChoice, value: str) -> None:
    async with transaction("admin.blocklists") as session:
        await fraud.change_blocklist(
            session, kind, value, add=False, actor=current_principal(request).actor, ip=client_ip(request)
        )


route_handlers = [list_blocklists, add_to_blocklist, remove_from_blocklist]
