"""Deposit history: the owner's (trader, teamlead, a merchant's store) and the admins' across owners."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import Parameter
from litestar.response import Stream

from jivapay.adapters.resources import get_resources
from jivapay.http.csv_export import csv_attachment
from jivapay.http.deps import current_principal, transaction
from jivapay.http.guards import FINANCES
from jivapay.services.merchants.stores import owned_store
from jivapay.services.wallet import deposits
from jivapay.services.wallet.deposits import DepositFilter, DepositView

Limit = Parameter(default=50, ge=1, le=500)


class DepositBody(msgspec.Struct):
    id: int
    network: str
    status: str  # pending, credited, below_minimum, dropped, reversed, reversal_failed
    amount: str
    currency: str
    confirmations: int
    confirmations_required: int
    tx_hash: str
    log_index: int
    block_number: int
    from_address: str
    to_address: str
    seen_at: dt.datetime
    credited_at: dt.datetime | None


class AdminDepositBody(DepositBody):
    owner_type: str
    owner_id: int
    dust: str  # the token's units below one micro-USDT, never credited


class DepositPage(msgspec.Struct):
    data: list[DepositBody]
    has_more: bool


class AdminDepositPage(msgspec.Struct):
    data: list[AdminDepositBody]
    has_more: bool


def _body(d: DepositView) -> DepositBody:
    return DepositBody(
        d.id, d.network, d.status, d.amount, "USDT", d.confirmations, d.confirmations_required, d.tx_hash,
        d.log_index, d.block_number, d.from_address, d.to_address, d.seen_at, d.credited_at,
    )  # fmt: skip


def _admin_body(d: DepositView) -> AdminDepositBody:
    return AdminDepositBody(
        d.id, d.network, d.status, d.amount, "USDT", d.confirmations, d.confirmations_required, d.tx_hash,
        d.log_index, d.block_number, d.from_address, d.to_address, d.seen_at, d.credited_at,
        d.owner_type, d.owner_id, d.dust,
    )  # fmt: skip


async def _owner_filter(
    request: Request[Any, Any, Any],
    owner_type: str,
    store_id: int | None,
    network: str | None,
    status: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> DepositFilter:
    principal = current_principal(request)
    owner_id = principal.user_id
    if owner_type == "store":
        assert store_id is not None
        async with transaction() as session:
            await owned_store(session, principal.user_id, store_id)
        owner_id = store_id
    return DepositFilter(owner_type, owner_id, network, status, since, until)


async def _page(where: DepositFilter, starting_after: int | None, limit: int) -> DepositPage:
    async with transaction() as session:
        rows, more = await deposits.page(session, where, starting_after=starting_after, limit=limit)
    return DepositPage([_body(row) for row in rows], has_more=more)


async def _csv(where: DepositFilter, name: str) -> Stream:
    where = where.checked()  # bad filters: a 4xx now, not halfway through a 200 stream
    return csv_attachment(deposits.CSV_COLUMNS, deposits.csv_rows(get_resources().session_factory, where), name)


def _handlers(role: str, owner_type: str) -> list[Any]:
    @get("/deposits", operation_id=f"{role}_deposits", tags=[role], summary="On-chain deposits, newest first")
    async def history(
        request: Request[Any, Any, Any],
        network: str | None = None,
        status: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        starting_after: int | None = None,
        limit: int = Limit,
    ) -> DepositPage:
        where = await _owner_filter(request, owner_type, None, network, status, since, until)
        return await _page(where, starting_after, limit)

    @get("/deposits.csv", operation_id=f"{role}_deposits_csv", tags=[role], summary="On-chain deposits as CSV")
    async def history_csv(
        request: Request[Any, Any, Any],
        network: str | None = None,
        status: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Stream:
        where = await _owner_filter(request, owner_type, None, network, status, since, until)
        return await _csv(where, f"{role}-deposits.csv")

    return [history, history_csv]


trader_handlers = _handlers("trader", "trader")
teamlead_handlers = _handlers("teamlead", "teamlead")


@get("/stores/{store_id:int}/deposits", operation_id="merchant_deposits", tags=["merchant"])
async def merchant_deposits(
    request: Request[Any, Any, Any],
    store_id: int,
    network: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    starting_after: int | None = None,
    limit: int = Limit,
) -> DepositPage:
    where = await _owner_filter(request, "store", store_id, network, status, since, until)
    return await _page(where, starting_after, limit)


@get("/stores/{store_id:int}/deposits.csv", operation_id="merchant_deposits_csv", tags=["merchant"])
async def merchant_deposits_csv(
    request: Request[Any, Any, Any],
    store_id: int,
    network: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Stream:
    where = await _owner_filter(request, "store", store_id, network, status, since, until)
    return await _csv(where, f"store-{store_id}-deposits.csv")


merchant_handlers = [merchant_deposits, merchant_deposits_csv]


@get("/deposits", operation_id="admin_deposits", tags=["admin"], guards=FINANCES, summary="Every on-chain deposit")
async def admin_deposits(
    owner_type: str | None = None,
    owner_id: int | None = None,
    network: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    starting_after: int | None = None,
    limit: int = Limit,
) -> AdminDepositPage:
    where = DepositFilter(owner_type, owner_id, network, status, since, until)
    async with transaction() as session:
        rows, more = await deposits.page(session, where, starting_after=starting_after, limit=limit)
    return AdminDepositPage([_admin_body(row) for row in rows], has_more=more)


@get("/deposits.csv", operation_id="admin_deposits_csv", tags=["admin"], guards=FINANCES)
async def admin_deposits_csv(
    owner_type: str | None = None,
    owner_id: int | None = None,
    network: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Stream:
    return await _csv(DepositFilter(owner_type, owner_id, network, status, since, until), "deposits.csv")


admin_handlers = [admin_deposits, admin_deposits_csv]
