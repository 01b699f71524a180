"""The teamlead cabinet: the team's traders, their traffic, their statistics.

A teamlead sees and changes only the traders whose profile names them (``teamlead_id``);
every query filters on it in SQL, so another team's trader does not exist (404).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import TraderProfile
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.db.staff.teamlead import TeamleadRepository
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import OPEN
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.orders.requisites import sync_trader_priority
from jivapay.services.platform.audit import log_action
from jivapay.services.staff.stats import check_range, conversion

MAX_TRAFFIC_PRIORITY = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class Amount:
    currency: str
    amount: str  # decimal string in major units


@dataclasses.dataclass(frozen=True, slots=True)
class TeamTrader:
    id: int
    login: str
    is_active: bool
    in_work: bool
    traffic_priority: int
    available: str  # USDT
    frozen: str  # USDT
    open_orders: int
    turnover_today: list[Amount]  # completed today (UTC), per currency


@dataclasses.dataclass(frozen=True, slots=True)
class StatsLine:
    day: dt.date | None  # None on the totals of the whole range
    direction: str
    orders: int  # assigned
    completed: int
    conversion: str  # completed / assigned, 4 places
    turnover: list[Amount]  # completed, per currency
    avg_confirm_seconds: int | None  # completed_at - created_at over completed orders, whole seconds
    disputes: int


@dataclasses.dataclass(frozen=True, slots=True)
class TraderStats:
    trader_id: int
    date_from: dt.date
    date_to: dt.date
    days: list[StatsLine]
    totals: list[StatsLine]  # per direction over the whole range


def _utc_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


async def _amounts(session: AsyncSession, totals: Iterable[tuple[str, int]]) -> list[Amount]:
    reference = ReferenceRepository(session)
    return [
        Amount(currency, L.format_amount(amount, await reference.fiat_minor_units(currency)))
        for currency, amount in sorted(totals)
    ]


# --- the team --------------------------------------------------------------------------------


async def _team_rows(session: AsyncSession, teamlead_id: int, trader_id: int | None) -> list[TeamTrader]:
    today = dt.datetime.now(dt.UTC).date()
    rows = await TeamleadRepository(session).team(
        teamlead_id,
        trader_id,
        open_statuses=sorted(OPEN),
        balance_currency=L.USDT,
        day_start=_utc_day(today),
        day_end=_utc_day(today + dt.timedelta(days=1)),
    )
    return [
        TeamTrader(
            id=r.id,
            login=r.login,
            is_active=r.is_active,
            in_work=r.in_work,
            traffic_priority=r.traffic_priority,
            available=L.format_amount(int(r.available), L.USDT_DECIMALS),
            frozen=L.format_amount(int(r.frozen), L.USDT_DECIMALS),
            open_orders=int(r.open_orders),
            turnover_today=await _amounts(session, zip(r.currencies or [], map(int, r.amounts or []), strict=True)),
        )
        for r in rows
    ]


async def team_traders(session: AsyncSession, teamlead_id: int) -> list[TeamTrader]:
    """The teamlead's traders with balances, open orders and today's turnover, by id."""
    return await _team_rows(session, teamlead_id, None)


async def team_trader(session: AsyncSession, teamlead_id: int, trader_id: int) -> TeamTrader:
    found = await _team_rows(session, teamlead_id, trader_id)
    if not found:
        raise NotFound("Trader not found", trader_id=trader_id)
    return found[0]


async def _team_profile(session: AsyncSession, teamlead_id: int, trader_id: int) -> TraderProfile:
    """The trader's profile, locked; NotFound unless the trader is on this teamlead's team."""
    profile = await TeamleadRepository(session).lock_team_profile(teamlead_id, trader_id)
    if profile is None:
        raise NotFound("Trader not found", trader_id=trader_id)
    return profile


async def _team_profile_exists(session: AsyncSession, teamlead_id: int, trader_id: int) -> None:
    if not await TeamleadRepository(session).on_team(teamlead_id, trader_id):
        raise NotFound("Trader not found", trader_id=trader_id)


async def set_team_traffic(
    session: AsyncSession,
    actor: Actor,
    teamlead_id: int,
    trader_id: int,
    *,
    in_work: bool | None = None,
    traffic_priority: int | None = None,
    ip: str | None = None,
) -> TeamTrader:
    """Switch a team trader's traffic and/or set its priority; selection sees both on commit.

    Out of work, selection skips every requisite of the trader (it joins the profile); the
    priority is copied onto the requisites, as when an admin changes it (selection orders by it).
    """
    if in_work is None and traffic_priority is None:
        raise ValidationFailed("send in_work, traffic_priority or both", fields=["in_work", "traffic_priority"])
    if traffic_priority is not None and not 0 <= traffic_priority <= MAX_TRAFFIC_PRIORITY:
        raise ValidationFailed(
            f"traffic_priority is 0-{MAX_TRAFFIC_PRIORITY} (lower is served first)", field="traffic_priority"
        )
    profile = await _team_profile(session, teamlead_id, trader_id)
    # the same action and shape as the trader's own switch (users.set_traffic), plus what it was
    changed: dict[str, Any] = {}
    before: dict[str, Any] = {}
    if in_work is not None and profile.in_work != in_work:
        before["in_work"], changed["in_work"] = profile.in_work, in_work
        profile.in_work = in_work
    if traffic_priority is not None and profile.traffic_priority != traffic_priority:
        before["traffic_priority"], changed["traffic_priority"] = profile.traffic_priority, traffic_priority
        profile.traffic_priority = traffic_priority
        await sync_trader_priority(session, trader_id, traffic_priority)
    if changed:
        await session.flush()
        await log_action(
            session,
            actor,
            "trader.traffic",
            Target.of("user", trader_id),
            {**changed, "before": before, "teamlead_id": teamlead_id},
            ip=ip,
        )
    return await team_trader(session, teamlead_id, trader_id)


# --- statistics ------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Bucket:
    orders: int = 0
    completed: int = 0
    timed: int = 0
    seconds: int = 0
    disputes: int = 0
    turnover: dict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))

    def add(self, row: Any) -> None:
        self.orders += int(row.orders)
        self.completed += int(row.completed)
        self.timed += int(row.timed)
        self.seconds += int(row.seconds)
        self.disputes += int(row.disputes)
        if int(row.completed):
            self.turnover[row.currency] += int(row.turnover)

    async def line(self, session: AsyncSession, day: dt.date | None, direction: str) -> StatsLine:
        return StatsLine(
            day=day,
            direction=direction,
            orders=self.orders,
            completed=self.completed,
            conversion=conversion(self.completed, self.orders),
            turnover=await _amounts(session, self.turnover.items()),
            avg_confirm_seconds=self.seconds // self.timed if self.timed else None,
            disputes=self.disputes,
        )


async def trader_stats(
    session: AsyncSession, teamlead_id: int, trader_id: int, date_from: dt.date, date_to: dt.date
) -> TraderStats:
    """A team trader's orders created on [date_from, date_to] (UTC days, both included), by day and
    direction, and per direction over the range. Days without orders are left out."""
    await _team_profile_exists(session, teamlead_id, trader_id)
    check_range(date_from, date_to)
    rows = await TeamleadRepository(session).order_stats(
        trader_id, _utc_day(date_from), _utc_day(date_to + dt.timedelta(days=1))
    )
    days: dict[tuple[dt.date, str], _Bucket] = {}
    totals: dict[str, _Bucket] = {}
    for row in rows:
        days.setdefault((row.day, row.direction), _Bucket()).add(row)
        totals.setdefault(row.direction, _Bucket()).add(row)
    return TraderStats(
        trader_id=trader_id,
        date_from=date_from,
        date_to=date_to,
        days=[await days[key].line(session, *key) for key in sorted(days)],
        totals=[await totals[direction].line(session, None, direction) for direction in sorted(totals)],
    )
