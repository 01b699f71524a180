"""Deposit history for owners and admins (cursor pages, CSV), deposit totals, and what an owner is
told when a deposit is credited."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.wallet.deposits import DepositRepository
from jivapay.adapters.db.wallet.models import Deposit
from jivapay.adapters.email import EmailMessageSpec
from jivapay.domain.errors import ValidationFailed
from jivapay.domain.ledger.posting import USDT_DECIMALS, format_amount
from jivapay.domain.money import DecimalText
from jivapay.domain.wallet.deposits import STATUSES, DepositStatus
from jivapay.networks import get_networks
from jivapay.services.identity import directory
from jivapay.services.merchants.stores import get_store

CSV_BATCH = 500
CSV_COLUMNS = (
    "deposit_id", "seen_at", "network", "status", "amount", "confirmations", "tx_hash", "log_index",
    "block_number", "from_address", "to_address", "owner_type", "owner_id", "credited_at", "dust",
)  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class DepositView:
    id: int
    network: str
    status: DepositStatus
    amount: DecimalText  # USDT credited (or to be credited), rounded down to 6 decimals
    currency: str
    confirmations: int
    confirmations_required: int
    tx_hash: str
    log_index: int
    block_number: int
    from_address: str
    to_address: str
    owner_type: str
    owner_id: int
    seen_at: dt.datetime
    credited_at: dt.datetime | None
    dust: DecimalText  # the token's units below one micro-USDT: never credited


@dataclasses.dataclass(frozen=True, slots=True)
class DepositFilter:
    owner_type: str | None = None
    owner_id: int | None = None
    network: str | None = None
    status: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def checked(self) -> DepositFilter:
        if self.network is not None and self.network.upper() not in get_networks():
            raise ValidationFailed(f"unknown network {self.network!r}", field="network", networks=list(get_networks()))
        if self.status is not None and self.status not in STATUSES:
            raise ValidationFailed(f"unknown deposit status {self.status!r}", field="status", statuses=list(STATUSES))
        if self.owner_type is not None and self.owner_type not in ("trader", "store", "teamlead"):
            raise ValidationFailed("owner_type must be trader, store or teamlead", field="owner_type")
        if self.since and self.until and self.since >= self.until:
            raise ValidationFailed("since must be before until", field="since")
        return dataclasses.replace(self, network=self.network.upper() if self.network else None)


def view(deposit: Deposit) -> DepositView:
    network = get_networks().get(deposit.network)
    return DepositView(
        id=deposit.id,
        network=deposit.network,
        status=cast(DepositStatus, deposit.status),
        amount=format_amount(deposit.amount, USDT_DECIMALS),
        currency="USDT",
        confirmations=deposit.confirmations,
        confirmations_required=network.confirmations if network else 0,
        tx_hash=deposit.tx_hash,
        log_index=deposit.log_index,
        block_number=deposit.block_number,
        from_address=deposit.from_address,
        to_address=deposit.to_address,
        owner_type=deposit.owner_type,
        owner_id=deposit.owner_id,
        seen_at=deposit.created_at,
        credited_at=deposit.credited_at,
        dust=str(deposit.dust),
    )


async def page(
    session: AsyncSession, where: DepositFilter, *, starting_after: int | None, limit: int
) -> tuple[list[DepositView], bool]:
    """Newest first; (the page, whether more follow)."""
    where = where.checked()
    rows = await DepositRepository(session).page(
        limit=limit + 1, starting_after=starting_after, **dataclasses.asdict(where)
    )
    return [view(row) for row in rows[:limit]], len(rows) > limit


async def csv_rows(
    session_factory: async_sessionmaker[AsyncSession], where: DepositFilter
) -> AsyncIterator[list[list[object]]]:
    """CSV_COLUMNS rows in batches, each batch read in its own short transaction."""
    where = where.checked()
    cursor: int | None = None
    while True:
        async with session_factory() as session:
            rows = await DepositRepository(session).page(
                limit=CSV_BATCH, starting_after=cursor, **dataclasses.asdict(where)
            )
        if not rows:
            return
        yield [_csv_row(view(row)) for row in rows]
        cursor = rows[-1].id


def _csv_row(d: DepositView) -> list[object]:
    return [
        d.id, d.seen_at.isoformat(), d.network, d.status, d.amount, d.confirmations, d.tx_hash, d.log_index,
        d.block_number, d.from_address, d.to_address, d.owner_type, d.owner_id,
        d.credited_at.isoformat() if d.credited_at else None, d.dust,
    ]  # fmt: skip


async def credited_totals(session: AsyncSession, owner_type: str, owner_ids: list[int]) -> dict[int, int]:
    """micro-USDT credited from the chain per owner (reversed deposits excluded)."""
    return await DepositRepository(session).totals(owner_type, owner_ids)


async def find(session: AsyncSession, deposit_id: int) -> Deposit | None:
    return await session.get(Deposit, deposit_id)


async def owner_email(session: AsyncSession, owner_type: str, owner_id: int) -> str | None:
    """Where a deposit's owner is written to: the user, or the store's merchant."""
    user_id = owner_id
    if owner_type == "store":
        user_id = (await get_store(session, owner_id)).merchant_id
    user = await directory.find_user(session, user_id)
    if user is None or not user.email or user.anonymized_at is not None:
        return None
    return str(user.email)


async def credited_email(session: AsyncSession, deposit_id: int) -> EmailMessageSpec | None:
    deposit = await find(session, deposit_id)
    if deposit is None or deposit.status != "credited":
        return None
    to = await owner_email(session, deposit.owner_type, deposit.owner_id)
    if to is None:
        return None
    d = view(deposit)
    context: dict[str, Any] = {
        "amount": d.amount,
        "network": d.network,
        "tx_hash": d.tx_hash,
        "to_address": d.to_address,
        "owner": f"store {d.owner_id}" if d.owner_type == "store" else d.owner_type,
        "credited_at": d.credited_at.isoformat() if d.credited_at else "",
    }
    return EmailMessageSpec(
        to=[to], subject=f"{d.amount} USDT deposit credited ({d.network})", template="deposit_credited", context=context
    )


async def reorg_alert_email(session: AsyncSession, deposit_id: int, recipients: list[str]) -> EmailMessageSpec | None:
    deposit = await find(session, deposit_id)
    if deposit is None or not recipients or deposit.status not in ("reversed", "reversal_failed"):
        return None
    d = view(deposit)
    action = "reversed through the ledger" if d.status == "reversed" else "NOT reversed: the USDT was already spent"
    return EmailMessageSpec(
        to=recipients,
        subject=f"Credited deposit {d.id} on {d.network} left the chain ({d.status})",
        template="alert",
        context={
            "title": f"A chain reorganisation removed credited deposit {d.id}",
            "lines": [
                f"{d.amount} USDT to {d.owner_type} {d.owner_id} on {d.network}: {action}.",
                f"Transaction {d.tx_hash} (log {d.log_index}), block {d.block_number}.",
                "Runbook: docs/wallet.md, 'A credited deposit was reorged out'.",
            ],
            "link": "",
        },
    )
