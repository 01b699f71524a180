"""Where each network's deposit monitor stands: for /metrics and the admins' network view."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.wallet.deposits import CursorRepository, DepositRepository
from jivapay.domain.ledger.posting import USDT_DECIMALS, format_amount
from jivapay.domain.money import DecimalText
from jivapay.networks import get_networks


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkStatus:
    network: str
    title: str
    family: str
    enabled: bool  # has RPC URLs: the monitor polls it
    rpc_urls: int  # how many (the URLs themselves may carry keys: never shown)
    confirmations: int
    min_deposit: DecimalText  # USDT
    scanned_height: int | None  # the last block scanned
    chain_head: int | None  # at the last successful poll
    safe_head: int | None
    lag_blocks: int | None
    last_success_at: dt.datetime | None
    last_error: str | None
    last_error_at: dt.datetime | None
    rpc_errors: int
    deposits_pending: int
    deposits_credited: int


async def network_statuses(session: AsyncSession) -> list[NetworkStatus]:
    cursors = {cursor.network: cursor for cursor in await CursorRepository(session).all()}
    pending = await DepositRepository(session).pending_counts()
    found = []
    for network in get_networks().values():
        cursor = cursors.get(network.name)
        scanned = cursor.next_block - 1 if cursor else None
        head = cursor.head if cursor else None
        found.append(
            NetworkStatus(
                network=network.name,
                title=network.title,
                family=network.family,
                enabled=network.enabled,
                rpc_urls=len(network.rpc_urls),
                confirmations=network.confirmations,
                min_deposit=format_amount(network.min_deposit, USDT_DECIMALS),
                scanned_height=scanned,
                chain_head=head,
                safe_head=cursor.safe_head if cursor else None,
                lag_blocks=max(0, head - scanned) if head is not None and scanned is not None else None,
                last_success_at=cursor.last_success_at if cursor else None,
                last_error=cursor.last_error if cursor else None,
                last_error_at=cursor.last_error_at if cursor else None,
                rpc_errors=cursor.rpc_errors if cursor else 0,
                deposits_pending=pending.get(network.name, 0),
                deposits_credited=cursor.deposits_credited if cursor else 0,
            )
        )
    return found
