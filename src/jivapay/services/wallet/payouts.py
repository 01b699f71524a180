"""Daily payouts (seed 004's processDailyPayout): a store's available USDT above a reserve goes to
an admin-approved address once a day, as an ordinary withdrawal (same holds, limits, approval
threshold, sending and notices). Idempotent per store and UTC day: the config row is locked and
the day recorded, and the withdrawal's Idempotency-Key is ``jivapay:daily-payout:<day>`` (a
prefix owners cannot use), so two schedulers or a redelivered message create one."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.chains.addresses import normalize_destination
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.db.wallet.models import DailyPayout
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.ledger.posting import USDT_DECIMALS, format_amount, parse_amount
from jivapay.domain.money import DecimalText
from jivapay.domain.platform.audit import Actor, Target
from jivapay.networks import get_network
from jivapay.services.ledger.balances import owner_balances
from jivapay.services.platform.audit import log_action
from jivapay.services.wallet import withdrawals
from jivapay.services.wallet.addresses import open_network

log = logging.getLogger("jivapay.wallet.payouts")
SYSTEM = Actor.system("daily-payout")


@dataclasses.dataclass(frozen=True, slots=True)
class DailyPayoutView:
    store_id: int
    enabled: bool
    network: str
    to_address: str
    reserve: DecimalText  # USDT kept on the store
    hour_utc: int
    approved: bool  # an admin approved this address; until then nothing is paid out
    approved_at: dt.datetime | None
    last_run_on: dt.date | None


def _view(row: DailyPayout) -> DailyPayoutView:
    return DailyPayoutView(
        store_id=row.store_id,
        enabled=row.enabled,
        network=row.network,
        to_address=row.to_address,
        reserve=format_amount(row.reserve, USDT_DECIMALS),
        hour_utc=row.hour_utc,
        approved=row.approved_at is not None,
        approved_at=row.approved_at,
        last_run_on=row.last_run_on,
    )


async def get(session: AsyncSession, store_id: int) -> DailyPayoutView | None:
    row = await session.get(DailyPayout, store_id)
    return _view(row) if row is not None else None


async def configure(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    *,
    enabled: bool | None,
    network: str | None,
    to_address: str | None,
    reserve: str | None,
    hour_utc: int | None,
    ip: str | None = None,
) -> DailyPayoutView:
    """Set up or change a store's daily payout; a new network or address needs an admin's approval again."""
    chain = open_network(network)
    destination = normalize_destination(chain.family, to_address or "")
    units = parse_amount(reserve if reserve is not None else "0", USDT_DECIMALS, field="reserve")
    if units < 0:
        raise ValidationFailed("reserve must not be negative", field="reserve")
    if hour_utc is None or not 0 <= hour_utc <= 23:
        raise ValidationFailed("hour_utc must be a whole hour from 0 to 23", field="hour_utc")
    row = await session.get(DailyPayout, store_id, with_for_update=True)
    if row is None:
        row = DailyPayout(store_id=store_id, network=chain.name, to_address=destination)
        session.add(row)
    elif (row.network, row.to_address) != (chain.name, destination):
        row.approved_at, row.approved_by = None, None  # a new destination is approved again
    row.network, row.to_address, row.reserve, row.hour_utc = chain.name, destination, units, hour_utc
    row.enabled = bool(enabled)
    await session.flush()
    await log_action(
        session,
        actor,
        "wallet.daily_payout_configured",
        Target.of("store", store_id),
        {
            "network": chain.name,
            "to_address": destination,
            "reserve": units,
            "hour_utc": hour_utc,
            "enabled": row.enabled,
        },
        ip=ip,
    )
    return _view(row)


async def approve(session: AsyncSession, actor: Actor, store_id: int, *, ip: str | None = None) -> DailyPayoutView:
    row = await session.get(DailyPayout, store_id, with_for_update=True)
    if row is None:
        raise NotFound("This store has no daily payout", store_id=store_id)
    row.approved_at = dt.datetime.now(dt.UTC)
    row.approved_by = int(actor.id) if actor.type == "user" and actor.id and actor.id.isdigit() else None
    await log_action(
        session, actor, "wallet.daily_payout_approved", Target.of("store", store_id),
        {"network": row.network, "to_address": row.to_address}, ip=ip,
    )  # fmt: skip
    return _view(row)


async def pending_approval(session: AsyncSession) -> list[DailyPayoutView]:
    rows = await session.scalars(
        select(DailyPayout).where(DailyPayout.approved_at.is_(None)).order_by(DailyPayout.store_id)
    )
    return [_view(row) for row in rows]


async def run_due(session_factory: async_sessionmaker[AsyncSession], now: dt.datetime | None = None) -> int:
    """Create today's payout for every store whose hour has come; how many withdrawals were made."""
    now = now or dt.datetime.now(dt.UTC)
    today = now.date()
    async with session_factory() as session:
        due = list(
            await session.scalars(
                select(DailyPayout.store_id).where(
                    DailyPayout.enabled.is_(True),
                    DailyPayout.approved_at.is_not(None),
                    DailyPayout.hour_utc <= now.hour,
                    (DailyPayout.last_run_on.is_(None)) | (DailyPayout.last_run_on < today),
                )
            )
        )
    made = 0
    for store_id in due:
        try:
            async with atomic(session_factory, name="wallet.daily_payout") as session:
                made += await _run_one(session, store_id, today)
        except ValidationFailed as exc:  # a limit or a closed network: today is skipped, said once
            log.warning("daily payout skipped", extra={"store_id": store_id, "reason": exc.message})
            async with atomic(session_factory, name="wallet.daily_payout.skip") as session:
                row = await session.get(DailyPayout, store_id, with_for_update=True)
                if row is not None:
                    row.last_run_on = today
    return made


async def _run_one(session: AsyncSession, store_id: int, today: dt.date) -> int:
    row = await session.get(DailyPayout, store_id, with_for_update=True, populate_existing=True)
    if row is None or not row.enabled or row.approved_at is None or (row.last_run_on and row.last_run_on >= today):
        return 0  # another scheduler did it, or it changed meanwhile
    row.last_run_on = today
    network = get_network(row.network)
    if network is None or not network.enabled:
        raise ValidationFailed(f"network {row.network} is not open")
    available = (await owner_balances(session, "store", [store_id]))[store_id]["available"].amount
    amount = available - row.reserve - network.withdrawal_fee
    if amount < network.min_withdrawal:
        return 0
    _, created = await withdrawals.request_withdrawal(
        session,
        SYSTEM,
        "store",
        store_id,
        network=row.network,
        to_address=row.to_address,
        amount=format_amount(amount, USDT_DECIMALS),
        idempotency_key=f"{withdrawals.RESERVED_KEY_PREFIX}daily-payout:{today.isoformat()}",
        approved_address=True,
        source="daily_payout",
    )
    return 1 if created else 0
