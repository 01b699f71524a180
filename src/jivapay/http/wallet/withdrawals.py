"""Withdrawals: owners (traders, teamleads, a merchant's stores) ask, list, view and cancel; admins
(finances) list, approve, reject and cancel."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from jivapay.domain import money
from jivapay.domain.platform.audit import Actor
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import NetworkFilter, NetworkName, OwnerTypeChoice, WithdrawalStatusChoice
from jivapay.http.guards import FINANCES
from jivapay.http.wallet import wallet_owner
from jivapay.services.wallet import withdrawals
from jivapay.services.wallet.withdrawals import WithdrawalFilter, WithdrawalView

Limit = Parameter(default=50, ge=1, le=500)


class NewWithdrawal(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "network": "TRC20",
        "to_address": "TGh1fAPw5asZ417NEdHGzGiRGaA3cQ3Vuh",
        "amount": "250.00",
    }

    # all checked after the owner (a store that is not the merchant's is a 404 whatever the body)
    network: NetworkName | None = None
    to_address: str | None = None  # EVM: 0x… (EIP-55 checksum when mixed case); TRON: T…
    # USDT the recipient receives; the network's fee is held on top
    amount: Annotated[str, money.DecimalFormat(example="250.00")] | None = None


class Reason(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "reason": "The destination is not the owner's own wallet (support ticket 4521)"
    }

    reason: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class WithdrawalPage:
    data: list[WithdrawalView]
    next_cursor: int | None  # pass as starting_after for the next page; null: no more


def _query(network: NetworkFilter = None, status: WithdrawalStatusChoice | None = None) -> WithdrawalFilter:
    return WithdrawalFilter(network=network, status=status)


def _admin_query(
    owner_type: OwnerTypeChoice | None = None,
    owner_id: int | None = None,
    network: NetworkFilter = None,
    status: WithdrawalStatusChoice | None = None,
) -> WithdrawalFilter:
    return WithdrawalFilter(owner_type, owner_id, network, status)


FILTERS = {"where": Provide(_query, sync_to_thread=False)}
ADMIN_FILTERS = {"where": Provide(_admin_query, sync_to_thread=False)}


async def _create(
    request: Request[Any, Any, Any], owner_type: str, store_id: int | None, data: NewWithdrawal
) -> Response[WithdrawalView]:
    """The ``Idempotency-Key`` header, when sent, makes a retried request return the first one."""
    owner = await wallet_owner(request, owner_type, store_id)
    key = request.headers.get("idempotency-key")
    actor = Actor.user(current_principal(request).user_id)
    async with transaction() as session:
        made, created = await withdrawals.request_withdrawal(
            session,
            actor,
            *owner,
            network=data.network,
            to_address=data.to_address,
            amount=data.amount,
            idempotency_key=key,
            ip=client_ip(request),
        )
    return Response(made, status_code=HTTP_201_CREATED if created else HTTP_200_OK)


async def _list(
    request: Request[Any, Any, Any],
    owner_type: str,
    store_id: int | None,
    where: WithdrawalFilter,
    after: int | None,
    limit: int,
) -> WithdrawalPage:
    owner = await wallet_owner(request, owner_type, store_id)
    where = dataclasses.replace(where, owner_type=owner[0], owner_id=owner[1])
    async with transaction() as session:
        rows, cursor = await withdrawals.page(session, where, starting_after=after, limit=limit)
    return WithdrawalPage(rows, cursor)


async def _one(
    request: Request[Any, Any, Any], owner_type: str, store_id: int | None, withdrawal_id: str
) -> WithdrawalView:
    owner = await wallet_owner(request, owner_type, store_id)
    async with transaction() as session:
        return await withdrawals.owner_withdrawal(session, *owner, withdrawal_id)


async def _cancel(
    request: Request[Any, Any, Any], owner_type: str, store_id: int | None, withdrawal_id: str
) -> WithdrawalView:
    owner = await wallet_owner(request, owner_type, store_id)
    actor = Actor.user(current_principal(request).user_id)
    async with transaction() as session:
        return await withdrawals.cancel(session, actor, withdrawal_id, owner=owner, ip=client_ip(request))


def _handlers(role: str, owner_type: str) -> list[Any]:
    @post(
        "/withdrawals",
        operation_id=f"{role}_create_withdrawal",
        tags=[role],
        summary="Ask for a withdrawal (amount + the network's fee are held); Idempotency-Key honoured",
        status_code=HTTP_201_CREATED,
    )
    async def create(request: Request[Any, Any, Any], data: NewWithdrawal) -> Response[WithdrawalView]:
        return await _create(request, owner_type, None, data)

    @get("/withdrawals", operation_id=f"{role}_withdrawals", tags=[role], dependencies=FILTERS)
    async def listing(
        request: Request[Any, Any, Any], where: WithdrawalFilter, starting_after: int | None = None, limit: int = Limit
    ) -> WithdrawalPage:
        return await _list(request, owner_type, None, where, starting_after, limit)

    @get("/withdrawals/{withdrawal_id:str}", operation_id=f"{role}_withdrawal", tags=[role])
    async def one(request: Request[Any, Any, Any], withdrawal_id: str) -> WithdrawalView:
        return await _one(request, owner_type, None, withdrawal_id)

    @post(
        "/withdrawals/{withdrawal_id:str}/cancel",
        operation_id=f"{role}_cancel_withdrawal",
        tags=[role],
        summary="Cancel before it is sent (the hold is released)",
        status_code=HTTP_200_OK,
    )
    async def cancel(request: Request[Any, Any, Any], withdrawal_id: str) -> WithdrawalView:
        return await _cancel(request, owner_type, None, withdrawal_id)

    return [create, listing, one, cancel]


trader_handlers = _handlers("trader", "trader")
teamlead_handlers = _handlers("teamlead", "teamlead")


@post(
    "/stores/{store_id:int}/withdrawals",
    operation_id="merchant_create_withdrawal",
    tags=["merchant"],
    summary="Ask for a withdrawal of a store's USDT; Idempotency-Key honoured",
    status_code=HTTP_201_CREATED,
)
async def merchant_create(
    request: Request[Any, Any, Any], store_id: int, data: NewWithdrawal
) -> Response[WithdrawalView]:
    return await _create(request, "store", store_id, data)


@get("/stores/{store_id:int}/withdrawals", operation_id="merchant_withdrawals", tags=["merchant"], dependencies=FILTERS)
async def merchant_list(
    request: Request[Any, Any, Any],
    store_id: int,
    where: WithdrawalFilter,
    starting_after: int | None = None,
    limit: int = Limit,
) -> WithdrawalPage:
    return await _list(request, "store", store_id, where, starting_after, limit)


@get("/stores/{store_id:int}/withdrawals/{withdrawal_id:str}", operation_id="merchant_withdrawal", tags=["merchant"])
async def merchant_one(request: Request[Any, Any, Any], store_id: int, withdrawal_id: str) -> WithdrawalView:
    return await _one(request, "store", store_id, withdrawal_id)


@post(
    "/stores/{store_id:int}/withdrawals/{withdrawal_id:str}/cancel",
    operation_id="merchant_cancel_withdrawal",
    tags=["merchant"],
    status_code=HTTP_200_OK,
)
async def merchant_cancel(request: Request[Any, Any, Any], store_id: int, withdrawal_id: str) -> WithdrawalView:
    return await _cancel(request, "store", store_id, withdrawal_id)


merchant_handlers = [merchant_create, merchant_list, merchant_one, merchant_cancel]


@get(
    "/withdrawals",
    operation_id="admin_withdrawals",
    tags=["admin"],
    guards=FINANCES,
    summary="Withdrawals (status=requested: the approval queue)",
    dependencies=ADMIN_FILTERS,
)
async def admin_list(where: WithdrawalFilter, starting_after: int | None = None, limit: int = Limit) -> WithdrawalPage:
    async with transaction() as session:
        rows, cursor = await withdrawals.page(session, where, starting_after=starting_after, limit=limit)
    return WithdrawalPage(rows, cursor)


@get("/withdrawals/{withdrawal_id:str}", operation_id="admin_withdrawal", tags=["admin"], guards=FINANCES)
async def admin_one(withdrawal_id: str) -> WithdrawalView:
    async with transaction() as session:
        return await withdrawals.any_withdrawal(session, withdrawal_id)


@post(
    "/withdrawals/{withdrawal_id:str}/approve",
    operation_id="admin_approve_withdrawal",
    tags=["admin"],
    guards=FINANCES,
    status_code=HTTP_200_OK,
)
async def admin_approve(request: Request[Any, Any, Any], withdrawal_id: str) -> WithdrawalView:
    actor = Actor.user(current_principal(request).user_id)
    async with transaction() as session:
        return await withdrawals.approve(session, actor, withdrawal_id, ip=client_ip(request))


@post(
    "/withdrawals/{withdrawal_id:str}/reject",
    operation_id="admin_reject_withdrawal",
    tags=["admin"],
    guards=FINANCES,
    status_code=HTTP_200_OK,
)
async def admin_reject(request: Request[Any, Any, Any], withdrawal_id: str, data: Reason) -> WithdrawalView:
    actor = Actor.user(current_principal(request).user_id)
    async with transaction() as session:
        return await withdrawals.reject(session, actor, withdrawal_id, reason=data.reason, ip=client_ip(request))


@post(
    "/withdrawals/{withdrawal_id:str}/cancel",
    operation_id="admin_cancel_withdrawal",
    tags=["admin"],
    guards=FINANCES,
    status_code=HTTP_200_OK,
)
async def admin_cancel(request: Request[Any, Any, Any], withdrawal_id: str, data: Reason) -> WithdrawalView:
    actor = Actor.user(current_principal(request).user_id)
    async with transaction() as session:
        return await withdrawals.cancel(
            session, actor, withdrawal_id, owner=None, reason=data.reason, ip=client_ip(request)
        )


admin_handlers = [admin_list, admin_one, admin_approve, admin_reject, admin_cancel]
