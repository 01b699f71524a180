"""Balance and history endpoints of the merchant, trader and admin cabinets."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, ClassVar, cast

import msgspec
from litestar import Request
from litestar.params import Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.resources import get_resources
from jivapay.domain import money
from jivapay.domain.errors import ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.http.csv_export import csv_attachment
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import DecimalText, OwnerTypeChoice
from jivapay.http.enums import Direction as DirectionValue
from jivapay.http.guards import FINANCES
from jivapay.http.routes import RouteGroup
from jivapay.services.ledger import balances, posting

merchant_routes = RouteGroup("merchant")
trader_routes = RouteGroup("trader")
teamlead_routes = RouteGroup("teamlead")
admin_routes = RouteGroup("admin", guards=FINANCES)

Limit = Parameter(default=50, ge=1, le=500)


class UsdtAccount(enum.StrEnum):
    AVAILABLE = "available"
    FROZEN = "frozen"


class TraderAccount(enum.StrEnum):
    AVAILABLE = "available"
    FROZEN = "frozen"
    FIAT = "fiat"


class Direction(enum.StrEnum):
    PAYIN = "payin"
    PAYOUT = "payout"


class FiatTurnover(msgspec.Struct):
    currency: str
    direction: DirectionValue
    amount: DecimalText


class StoreBalanceBody(msgspec.Struct):
    store_id: int
    name: str
    currency: str
    available: DecimalText
    frozen: DecimalText
    total_deposited: DecimalText  # USDT credited from the chain, net of reorg reversals
    total_withdrawn: DecimalText  # USDT sent out to the chain (withdrawals and payouts)


class TraderBalanceBody(msgspec.Struct):
    currency: str
    available: DecimalText
    frozen: DecimalText
    fiat_turnover: list[FiatTurnover]
    total_deposited: DecimalText  # USDT credited from the chain, net of reorg reversals
    total_withdrawn: DecimalText  # USDT sent out to the chain (withdrawals and payouts)


class HistoryLineBody(msgspec.Struct):
    id: int
    at: dt.datetime
    kind: str
    amount: DecimalText
    balance_after: DecimalText
    order_id: str | None  # the order's public reference (ord_…)
    transaction_id: int


class HistoryPage(msgspec.Struct):
    currency: str
    data: list[HistoryLineBody]
    has_more: bool


class Adjustment(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "owner_type": "store",
        "owner_id": 12,
        "amount": "-25.50",
        "reason": "Refund of a duplicate settlement (ticket 4521)",
        "idempotency_key": "adjustment-4521",
    }

    owner_type: OwnerTypeChoice
    owner_id: int
    amount: Annotated[str, money.DecimalFormat(example="-25.50")]  # USDT as a decimal string, negative to debit
    reason: str
    idempotency_key: str


class AdjustmentBody(msgspec.Struct):
    transaction_id: int
    replayed: bool


async def _history_page(
    session: AsyncSession,
    key: L.AccountKey,
    *,
    starting_after: int | None,
    limit: int,
    since: dt.datetime | None,
    until: dt.datetime | None,
    kind: str | None = None,
) -> HistoryPage:
    """One page of the account's entries, newest first; one more is read to tell whether more follow."""
    lines = await balances.history(
        session, key, starting_after=starting_after, limit=limit + 1, since=since, until=until, kind=kind
    )
    return HistoryPage(
        key.currency,
        [
            HistoryLineBody(x.id, x.at, x.kind, x.amount, x.balance_after, x.order_id, x.transaction_id)
            for x in lines[:limit]
        ],
        has_more=len(lines) > limit,
    )


async def _csv(
    key: L.AccountKey, name: str, since: dt.datetime | None, until: dt.datetime | None, kind: str | None
) -> Stream:
    # bad filters fail here, as a 4xx, not halfway through a 200 stream
    async with transaction("balances.export") as session:
        await balances.history(session, key, starting_after=None, limit=1, since=since, until=until, kind=kind)
    rows = balances.history_rows(get_resources().session_factory, key, since=since, until=until, kind=kind)
    return await csv_attachment(balances.HISTORY_CSV_COLUMNS, rows, f"{name}.csv")


def _trader_key(
    trader_id: int, account: TraderAccount, currency: str | None, direction: Direction | None
) -> L.AccountKey:
    if account == TraderAccount.FIAT:
        if not currency or direction is None:
            raise ValidationFailed("fiat history needs currency and direction", field="currency")
        return L.trader_fiat(trader_id, currency.upper(), direction.value)
    available, frozen = L.owner_accounts("trader", trader_id)
    return available if account == TraderAccount.AVAILABLE else frozen


# --- merchant -----------------------------------------------------------------------------


@merchant_routes.get("/balance", operation_id="merchant_balance", summary="USDT balance of every store")
async def merchant_balance(request: Request[Any, Any, Any]) -> list[StoreBalanceBody]:
    async with transaction() as session:
        rows = await balances.merchant_balances(session, current_principal(request).user_id)
    return [
        StoreBalanceBody(
            sid, name, L.USDT, b["available"].text, b["frozen"].text, b["deposited"].text, b["withdrawn"].text
        )
        for sid, name, b in rows
    ]


@merchant_routes.get("/stores/{store_id:int}/balance/history", operation_id="merchant_balance_history")
async def merchant_history(
    request: Request[Any, Any, Any],
    store_id: int,
    account: UsdtAccount = UsdtAccount.AVAILABLE,
    starting_after: int | None = None,
    limit: int = Limit,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kind: str | None = None,
) -> HistoryPage:
    async with transaction() as session:
        key = await balances.owned_store_account(session, current_principal(request).user_id, store_id, account)
        return await _history_page(
            session, key, starting_after=starting_after, limit=limit, since=since, until=until, kind=kind
        )


@merchant_routes.get("/stores/{store_id:int}/balance/history.csv", operation_id="merchant_balance_history_csv")
async def merchant_history_csv(
    request: Request[Any, Any, Any],
    store_id: int,
    account: UsdtAccount = UsdtAccount.AVAILABLE,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kind: str | None = None,
) -> Stream:
    async with transaction() as session:
        key = await balances.owned_store_account(session, current_principal(request).user_id, store_id, account)
    return await _csv(key, f"store-{store_id}-{account}", since, until, kind)


merchant_handlers = [merchant_balance, merchant_history, merchant_history_csv]


# --- trader -------------------------------------------------------------------------------


@trader_routes.get("/balance", operation_id="trader_balance", summary="Collateral and fiat turnover")
async def trader_balance(request: Request[Any, Any, Any]) -> TraderBalanceBody:
    trader_id = current_principal(request).user_id
    async with transaction() as session:
        found = (await balances.owner_balances(session, "trader", [trader_id]))[trader_id]
    return TraderBalanceBody(
        L.USDT,
        found["available"].text,
        found["frozen"].text,
        [
            FiatTurnover(currency, cast(DirectionValue, direction), money.text)
            for currency, direction, money in found["fiat"]
        ],
        found["deposited"].text,
        found["withdrawn"].text,
    )


@trader_routes.get("/balance/history", operation_id="trader_balance_history")
async def trader_history(
    request: Request[Any, Any, Any],
    account: TraderAccount = TraderAccount.AVAILABLE,
    currency: str | None = None,
    direction: Direction | None = None,
    starting_after: int | None = None,
    limit: int = Limit,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kind: str | None = None,
) -> HistoryPage:
    key = _trader_key(current_principal(request).user_id, account, currency, direction)
    async with transaction() as session:
        return await _history_page(
            session, key, starting_after=starting_after, limit=limit, since=since, until=until, kind=kind
        )


@trader_routes.get("/balance/history.csv", operation_id="trader_balance_history_csv")
async def trader_history_csv(
    request: Request[Any, Any, Any],
    account: TraderAccount = TraderAccount.AVAILABLE,
    currency: str | None = None,
    direction: Direction | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kind: str | None = None,
) -> Stream:
    key = _trader_key(current_principal(request).user_id, account, currency, direction)
    return await _csv(key, f"trader-{account}", since, until, kind)


trader_handlers = [trader_balance, trader_history, trader_history_csv]


# --- teamlead -----------------------------------------------------------------------------


class RewardBalanceBody(msgspec.Struct):
    currency: str
    available: DecimalText  # the reward share credited on the team's settled orders, plus on-chain deposits
    frozen: DecimalText
    total_deposited: DecimalText  # USDT credited from the chain, net of reorg reversals
    total_withdrawn: DecimalText  # USDT sent out to the chain (withdrawals and payouts)


@teamlead_routes.get(
    "/balance", operation_id="teamlead_balance", summary="The reward share credited so far (USDT available)"
)
async def teamlead_balance(request: Request[Any, Any, Any]) -> RewardBalanceBody:
    teamlead_id = current_principal(request).user_id
    async with transaction() as session:
        found = (await balances.owner_balances(session, "teamlead", [teamlead_id]))[teamlead_id]
    return RewardBalanceBody(
        L.USDT, found["available"].text, found["frozen"].text, found["deposited"].text, found["withdrawn"].text
    )


@teamlead_routes.get("/balance/history", operation_id="teamlead_balance_history")
async def teamlead_history(
    request: Request[Any, Any, Any],
    starting_after: int | None = None,
    limit: int = Limit,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> HistoryPage:
    """Every reward credited (one line per settled order of the team), newest first."""
    key = L.teamlead_available(current_principal(request).user_id)
    async with transaction() as session:
        return await _history_page(session, key, starting_after=starting_after, limit=limit, since=since, until=until)


teamlead_handlers = [teamlead_balance, teamlead_history]


# --- admin --------------------------------------------------------------------------------


class AdminAccount(msgspec.Struct):
    owner_type: str
    owner_id: int
    currency: str
    kind: str
    label: str


def _admin_key(owner_type: str, owner_id: int, currency: str, kind: str, label: str) -> L.AccountKey:
    return L.AccountKey(owner_type, owner_id, currency.upper(), kind, label)


@admin_routes.get(
    "/balances", operation_id="admin_balances", summary="Platform profit and totals per owner type, kind and currency"
)
async def admin_balances() -> dict[str, Any]:
    async with transaction() as session:
        return await balances.platform_overview(session)


@admin_routes.get(
    "/balances/history",
    operation_id="admin_balance_history",
    summary="History of any account (platform profit: owner_type=platform, kind=profit)",
)
async def admin_history(
    owner_type: str = "platform",
    owner_id: int = 0,
    currency: str = L.USDT,
    kind: str = "profit",
    label: str = "",
    starting_after: int | None = None,
    limit: int = Limit,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    transaction_kind: str | None = None,
) -> HistoryPage:
    key = _admin_key(owner_type, owner_id, currency, kind, label)
    async with transaction() as session:
        return await _history_page(
            session, key, starting_after=starting_after, limit=limit, since=since, until=until, kind=transaction_kind
        )


@admin_routes.get("/balances/history.csv", operation_id="admin_balance_history_csv")
async def admin_history_csv(
    owner_type: str = "platform",
    owner_id: int = 0,
    currency: str = L.USDT,
    kind: str = "profit",
    label: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    transaction_kind: str | None = None,
) -> Stream:
    key = _admin_key(owner_type, owner_id, currency, kind, label)
    return await _csv(key, f"{owner_type}-{owner_id}-{kind}", since, until, transaction_kind)


@admin_routes.post(
    "/ledger/adjustments",
    operation_id="admin_ledger_adjustment",
    status_code=HTTP_201_CREATED,
    summary="Credit or debit an owner's available USDT, with a reason",
)
async def admin_adjustment(request: Request[Any, Any, Any], data: Adjustment) -> AdjustmentBody:
    amount = L.parse_amount(data.amount, L.USDT_DECIMALS)
    async with transaction() as session:
        adjusted = await posting.adjust(
            session,
            current_principal(request).actor,
            owner_type=data.owner_type,
            owner_id=data.owner_id,
            amount=amount,
            reason=data.reason,
            idempotency_key=data.idempotency_key,
            ip=client_ip(request),
        )
    return AdjustmentBody(adjusted.transaction_id, adjusted.replayed)


admin_handlers = [admin_balances, admin_history, admin_history_csv, admin_adjustment]
