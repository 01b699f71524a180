"""A failed settlement retried by the admin (`/admin/orders/{id}/settle`, MANAGE_FINANCES)."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from litestar import Request, post

from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.guards import FINANCES
from jivapay.http.orders.staff_orders import OrderCaseBody, case_body
from jivapay.services.ledger import posting
from jivapay.services.orders import refs as order_refs


class SettlementRetry(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"reason": "The trader's hold was restored by adjustment 4521"}

    reason: str


@post(
    "/orders/{order_id:str}/settle",
    operation_id="admin_retry_settlement",
    tags=["admin"],
    guards=FINANCES,
    status_code=200,
    summary="Settle a completed order again after its settlement failed",
    description="For an order listed by `settlement_failed=true` once the cause is fixed (e.g. its hold restored by "
    "a ledger adjustment): clears `settlement_error` and queues the settlement, which is idempotent and "
    "again refuses to run without the order's active hold. A written reason is required; audited. 409 "
    "when the order is not completed or is settled already.",
)
async def retry_settlement(request: Request[Any, Any, Any], order_id: str, data: SettlementRetry) -> OrderCaseBody:
    async with transaction("admin.settle") as session:
        internal_id = await order_refs.staff_order_id(session, order_id)
        await posting.retry_settlement(
            session, internal_id, reason=data.reason, actor=current_principal(request).actor, ip=client_ip(request)
        )
    return await case_body(internal_id)


route_handlers = [retry_settlement]
