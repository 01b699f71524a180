"""Deposit history: the owner's (trader, teamlead, a merchant's store) and the admins' across owners."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Stream

from jivapay.adapters.resources import get_resources
from jivapay.http.csv_export import csv_attachment
from jivapay.http.deps import transaction
from jivapay.http.enums import DepositStatusChoice, NetworkFilter, OwnerTypeChoice
from jivapay.http.guards import FINANCES
from jivapay.http.wallet import wallet_owner
from jivapay.services.wallet import deposits
from jivapay.services.wallet.deposits import DepositFilter, DepositView

Limit = Parameter(default=50, ge=1, le=500)


@dataclasses.dataclass(frozen=True, slots=True)
class DepositPage:
    data: list[DepositView]
    has_more: bool


def _query(
    network: NetworkFilter = None,
    status: DepositStatusChoice | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> DepositFilter:
    """The filters every deposit list takes (network, status, a time window), as query parameters."""
    return DepositFilter(network=network, status=status, since=since, until=until)


def _admin_query(
    owner_type: OwnerTypeChoice | None = None,
    owner_id: int | None = None,
    network: NetworkFilter = None,
    status: DepositStatusChoice | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> DepositFilter:
    return DepositFilter(owner_type, owner_id, network, status, since, until)


FILTERS = {"where": Provide(_query, sync_to_thread=False)}
ADMIN_FILTERS = {"where": Provide(_admin_query, sync_to_thread=False)}


async def _owned(
    request: Request[Any, Any, Any], owner_type: str, where: DepositFilter, store_id: int | None
) -> DepositFilter:
    """The filters narrowed to the caller's own deposits."""
    owner_type, owner_id = await wallet_owner(request, owner_type, store_id)
    return dataclasses.replace(where, owner_type=owner_type, owner_id=owner_id)


async def _page(where: DepositFilter, starting_after: int | None, limit: int) -> DepositPage:
    async with transaction() as session:
        rows, more = await deposits.page(session, where, starting_after=starting_after, limit=limit)
    return DepositPage(rows, has_more=more)


async def _csv(where: DepositFilter, name: str) -> Stream:
    where = where.checked()  # bad filters: a 4xx now, not halfway through a 200 stream
    return await csv_attachment(deposits.CSV_COLUMNS, deposits.csv_rows(get_resources().session_factory, where), name)


def _handlers(role: str, owner_type: str) -> list[Any]:
    @get(
        "/deposits",
        operation_id=f"{role}_deposits",
        tags=[role],
        summary="On-chain deposits, newest first",
        dependencies=FILTERS,
    )
    async def history(
        request: Request[Any, Any, Any], where: DepositFilter, starting_after: int | None = None, limit: int = Limit
    ) -> DepositPage:
        return await _page(await _owned(request, owner_type, where, None), starting_after, limit)

    @get(
        "/deposits.csv",
        operation_id=f"{role}_deposits_csv",
        tags=[role],
        summary="On-chain deposits as CSV",
        dependencies=FILTERS,
    )
    async def history_csv(request: Request[Any, Any, Any], where: DepositFilter) -> Stream:
        return await _csv(await _owned(request, owner_type, where, None), f"{role}-deposits.csv")

    return [history, history_csv]


trader_handlers = _handlers("trader", "trader")
teamlead_handlers = _handlers("teamlead", "teamlead")


@get("/stores/{store_id:int}/deposits", operation_id="merchant_deposits", tags=["merchant"], dependencies=FILTERS)
async def merchant_deposits(
    request: Request[Any, Any, Any],
    store_id: int,
    where: DepositFilter,
    starting_after: int | None = None,
    limit: int = Limit,
) -> DepositPage:
    return await _page(await _owned(request, "store", where, store_id), starting_after, limit)


@get(
    "/stores/{store_id:int}/deposits.csv",
    operation_id="merchant_deposits_csv",
    tags=["merchant"],
    dependencies=FILTERS,
)
async def merchant_deposits_csv(request: Request[Any, Any, Any], store_id: int, where: DepositFilter) -> Stream:
    return await _csv(await _owned(request, "store", where, store_id), f"store-{store_id}-deposits.csv")


merchant_handlers = [merchant_deposits, merchant_deposits_csv]


@get(
    "/deposits",
    operation_id="admin_deposits",
    tags=["admin"],
    guards=FINANCES,
    summary="Every on-chain deposit",
    dependencies=ADMIN_FILTERS,
)
async def admin_deposits(where: DepositFilter, starting_after: int | None = None, limit: int = Limit) -> DepositPage:
    return await _page(where, starting_after, limit)


@get("/deposits.csv", operation_id="admin_deposits_csv", tags=["admin"], guards=FINANCES, dependencies=ADMIN_FILTERS)
async def admin_deposits_csv(where: DepositFilter) -> Stream:
    return await _csv(where, "deposits.csv")


admin_handlers = [admin_deposits, admin_deposits_csv]
