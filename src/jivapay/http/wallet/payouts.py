"""Daily payouts: a merchant sets up a store's, an admin (finances) approves its address."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Request, get, post, put
from litestar.status_codes import HTTP_200_OK

from jivapay.domain import money
from jivapay.domain.errors import NotFound
from jivapay.domain.platform.audit import Actor
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import NetworkName
from jivapay.http.guards import FINANCES
from jivapay.services.merchants.stores import owned_store
from jivapay.services.wallet import payouts
from jivapay.services.wallet.payouts import DailyPayoutView


class DailyPayoutSettings(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "enabled": True,
        "network": "TRC20",
        "to_address": "TGh1fAPw5asZ417NEdHGzGiRGaA3cQ3Vuh",
        "reserve": "100.00",
        "hour_utc": 6,
    }

    # checked after the store's ownership (someone else's store is a 404 whatever the body)
    enabled: bool | None = None
    network: NetworkName | None = None
    to_address: str | None = None
    # USDT left on the store; the rest (minus the network's fee) is paid out
    reserve: Annotated[str, money.DecimalFormat(example="100.00")] | None = None
    hour_utc: int | None = None  # 0-23: the payout is made from this hour of each UTC day


@get("/stores/{store_id:int}/daily-payout", operation_id="merchant_daily_payout", tags=["merchant"])
async def merchant_get(request: Request[Any, Any, Any], store_id: int) -> DailyPayoutView:
    async with transaction() as session:
        await owned_store(session, current_principal(request).user_id, store_id)
        found = await payouts.get(session, store_id)
    if found is None:
        raise NotFound("This store has no daily payout", store_id=store_id)
    return found


@put(
    "/stores/{store_id:int}/daily-payout",
    operation_id="merchant_set_daily_payout",
    tags=["merchant"],
    summary="Set up the store's daily payout (a new address waits for an admin's approval)",
)
async def merchant_set(request: Request[Any, Any, Any], store_id: int, data: DailyPayoutSettings) -> DailyPayoutView:
    principal = current_principal(request)
    async with transaction() as session:
        await owned_store(session, principal.user_id, store_id)
        return await payouts.configure(
            session,
            Actor.user(principal.user_id),
            store_id,
            enabled=data.enabled,
            network=data.network,
            to_address=data.to_address,
            reserve=data.reserve,
            hour_utc=data.hour_utc,
            ip=client_ip(request),
        )


merchant_handlers = [merchant_get, merchant_set]


@get(
    "/daily-payouts",
    operation_id="admin_daily_payouts_pending",
    tags=["admin"],
    guards=FINANCES,
    summary="Daily payouts whose address waits for approval",
)
async def admin_pending() -> list[DailyPayoutView]:
    async with transaction() as session:
        return await payouts.pending_approval(session)


@post(
    "/stores/{store_id:int}/daily-payout/approve",
    operation_id="admin_approve_daily_payout",
    tags=["admin"],
    guards=FINANCES,
    status_code=HTTP_200_OK,
)
async def admin_approve(request: Request[Any, Any, Any], store_id: int) -> DailyPayoutView:
    async with transaction() as session:
        return await payouts.approve(
            session, Actor.user(current_principal(request).user_id), store_id, ip=client_ip(request)
        )


admin_handlers = [admin_pending, admin_approve]
