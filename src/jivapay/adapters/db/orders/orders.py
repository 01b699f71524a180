from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db import raw
from jivapay.adapters.db.models import IncomingOrder, OrderHistory, OrderStatusChange
from jivapay.adapters.db.raw import RawStatement

OPEN_UNPAID = ("pending_payment",)
# statuses with a deadline (expires_at): what the scheduler's expiry scan looks at
WAITING = ("pending_payment", "client_confirmed", "pending", "trader_paid")

# the processor's order insert, prebuilt (it runs once per assignment)
_INSERT_ORDER = RawStatement(
    """
    INSERT INTO order_history (public_id, store_id, trader_id, direction, status, currency, amount, requested_amount,
                               rate, store_commission, trader_commission, payment_method_id, incoming_order_id,
                               requisite_id, expires_at, teamlead_id, teamlead_share)
    VALUES (:public_id, :store_id, :trader_id, :direction, :status, :currency, :amount, :requested_amount, :rate,
            :store_commission, :trader_commission, :payment_method_id, :incoming_order_id, :requisite_id, :expires_at,
            :teamlead_id, :teamlead_share)
    RETURNING id
    """
)


# a store's order as its status shows it, in one statement: the incoming order by reference, its
# assigned order, and that order's requisite (the gateway's status read; long-polled)
_STATUS = RawStatement(
    """
    SELECT i.id, i.public_id, i.merchant_order_id, i.direction, i.status, i.amount, i.currency,
           i.payment_method_id, i.created_at, i.failure_reason, i.recipient_last4,
           o.id AS order_id, o.status AS order_status, o.amount AS order_amount, o.rate, o.expires_at,
           r.type AS requisite_type, b.name AS bank_name, r.owner_name, r.number_encrypted, r.number_last4
    FROM incoming_orders i
    LEFT JOIN order_history o ON o.id = i.order_id
    LEFT JOIN requisites r ON r.id = o.requisite_id
    LEFT JOIN banks b ON b.id = r.bank_id
    WHERE i.public_id = :reference AND i.store_id = :store_id
    """
)


@dataclasses.dataclass(frozen=True, slots=True)
class RequisiteFacts:
    type: str
    bank_name: str | None
    owner_name: str
    number_encrypted: str
    number_last4: str


@dataclasses.dataclass(frozen=True, slots=True)
class OrderFacts:
    """What an order's outside view is made of (services/orders/views.py): the incoming order,
    its assigned order's part (None while there is none) and the requisite of that order."""

    incoming_id: int
    public_id: str
    merchant_order_id: str
    direction: str
    status: str  # the incoming order's
    amount: int
    currency: str
    payment_method_id: int
    created_at: dt.datetime
    failure_reason: str | None
    recipient_last4: str | None
    order_status: str | None = None
    order_amount: int | None = None
    rate: Decimal | None = None
    expires_at: dt.datetime | None = None
    requisite: RequisiteFacts | None = None


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, order_id: int, *, for_update: bool = False) -> OrderHistory | None:
        stmt = select(OrderHistory).where(OrderHistory.id == order_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def find(self, order_id: int) -> OrderHistory | None:
        """The order, taken from the session without a query when it is loaded there already."""
        return await self.session.get(OrderHistory, order_id)

    async def add(self, order: OrderHistory) -> OrderHistory:
        self.session.add(order)
        await self.session.flush()
        return order

    async def insert_order(
        self,
        *,
        public_id: str,
        store_id: int,
        trader_id: int,
        direction: str,
        status: str,
        currency: str,
        amount: int,
        requested_amount: int,
        rate: Decimal,
        store_commission: Decimal,
        trader_commission: Decimal,
        payment_method_id: int | None,
        incoming_order_id: int,
        requisite_id: int,
        expires_at: dt.datetime,
        teamlead_id: int | None,
        teamlead_share: Decimal | None,
    ) -> int:
        """A new order's id (no ORM object: the processor needs only the id)."""
        params = {
            "public_id": public_id,
            "store_id": store_id,
            "trader_id": trader_id,
            "direction": direction,
            "status": status,
            "currency": currency,
            "amount": amount,
            "requested_amount": requested_amount,
            "rate": rate,
            "store_commission": store_commission,
            "trader_commission": trader_commission,
            "payment_method_id": payment_method_id,
            "incoming_order_id": incoming_order_id,
            "requisite_id": requisite_id,
            "expires_at": expires_at,
            "teamlead_id": teamlead_id,
            "teamlead_share": teamlead_share,
        }
        row = await raw.fetchrow(self.session, _INSERT_ORDER, params)
        assert row is not None
        return int(row["id"])

    async def unpaid_orders_of_client(self, store_id: int, client_id: str) -> int:
        stmt = (
            select(func.count())
            .select_from(IncomingOrder)
            .join(OrderHistory, OrderHistory.id == IncomingOrder.order_id)
            .where(
                IncomingOrder.store_id == store_id,
                IncomingOrder.client_id == client_id,
                OrderHistory.status.in_(OPEN_UNPAID),
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())

    # --- incoming orders ---
    async def add_incoming(self, order: IncomingOrder) -> IncomingOrder:
        self.session.add(order)
        await self.session.flush()
        return order

    async def insert_incoming_unless_exists(self, **values: Any) -> IncomingOrder | None:
        """The new incoming order, or None when the store already has this merchant_order_id."""
        stmt = (
            pg_insert(IncomingOrder)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["store_id", "merchant_order_id"])
            .returning(IncomingOrder)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    async def incoming_by_merchant_id(self, store_id: int, merchant_order_id: str) -> str | None:
        """The public reference of the store's order with this merchant_order_id."""
        stmt = select(IncomingOrder.public_id).where(
            IncomingOrder.store_id == store_id, IncomingOrder.merchant_order_id == merchant_order_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # --- public references (``ord_…``): one per order, whoever looks at it ---
    async def store_order_facts(self, store_id: int, public_id: str) -> OrderFacts | None:
        """The store's order with this reference as its view needs it (another store's: None)."""
        row = await raw.fetchrow(self.session, _STATUS, {"reference": public_id, "store_id": store_id})
        if row is None:
            return None
        requisite = None
        if row["requisite_type"] is not None:
            requisite = RequisiteFacts(
                row["requisite_type"], row["bank_name"], row["owner_name"], row["number_encrypted"], row["number_last4"]
            )
        has_order = row["order_id"] is not None
        return OrderFacts(
            incoming_id=row["id"],
            public_id=row["public_id"],
            merchant_order_id=row["merchant_order_id"],
            direction=row["direction"],
            status=row["status"],
            amount=row["amount"],
            currency=row["currency"],
            payment_method_id=row["payment_method_id"],
            created_at=row["created_at"],
            failure_reason=row["failure_reason"],
            recipient_last4=row["recipient_last4"],
            order_status=row["order_status"] if has_order else None,
            order_amount=row["order_amount"] if has_order else None,
            rate=row["rate"] if has_order else None,
            expires_at=row["expires_at"] if has_order else None,
            requisite=requisite,
        )

    async def store_incoming_id(self, store_id: int, public_id: str) -> int | None:
        """The store's incoming order with this reference (another store's is not found)."""
        stmt = select(IncomingOrder.id).where(IncomingOrder.public_id == public_id, IncomingOrder.store_id == store_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def incoming_id_of(self, public_id: str) -> int | None:
        """Translation only: the caller checks who owns it."""
        stmt = select(IncomingOrder.id).where(IncomingOrder.public_id == public_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def incoming_references(self, incoming_ids: list[int]) -> dict[int, str]:
        if not incoming_ids:
            return {}
        stmt = select(IncomingOrder.id, IncomingOrder.public_id).where(IncomingOrder.id.in_(incoming_ids))
        return {int(row[0]): str(row[1]) for row in (await self.session.execute(stmt)).all()}

    async def trader_order_id(self, trader_id: int, public_id: str) -> int | None:
        """The trader's own order with this reference (a declined one included: it was theirs)."""
        stmt = (
            select(OrderHistory.id)
            .where(OrderHistory.public_id == public_id, OrderHistory.trader_id == trader_id)
            .order_by(OrderHistory.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def live_order_id(self, public_id: str) -> int | None:
        """The order with this reference as staff see it: the live one, else the newest (declined)."""
        stmt = (
            select(OrderHistory.id)
            .where(OrderHistory.public_id == public_id)
            .order_by((OrderHistory.status == "declined").asc(), OrderHistory.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def incoming(
        self, incoming_id: int, *, for_update: bool = False, fresh: bool = False
    ) -> IncomingOrder | None:
        """``fresh``: read from the database even when the session holds the row (locking implies it)."""
        stmt = select(IncomingOrder).where(IncomingOrder.id == incoming_id)
        if for_update:
            stmt = stmt.with_for_update()
        if for_update or fresh:
            stmt = stmt.execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def claim_due_incoming(self, limit: int, lease: dt.timedelta) -> list[tuple[int, int]]:
        """(id, attempt) of new/retrying orders whose time has come, the attempt being the retry count
        the message is for; pushed a lease ahead so a tick sends each once."""
        result = await self.session.execute(
            text(
                """
                UPDATE incoming_orders SET next_attempt_at = now() + :lease
                WHERE id IN (
                    SELECT id FROM incoming_orders
                    WHERE status IN ('new', 'retrying') AND next_attempt_at <= now()
                    ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)
                RETURNING id, retry_count
                """
            ),
            {"lease": lease, "limit": limit},
        )
        return sorted((int(row[0]), int(row[1])) for row in result.all())

    async def record_failure(self, incoming_id: int, *, status: str, reason: str, next_attempt_at: dt.datetime) -> None:
        await self.session.execute(
            update(IncomingOrder)
            .where(IncomingOrder.id == incoming_id, IncomingOrder.status.in_(("new", "retrying")))
            .values(
                status=status,
                failure_reason=reason[:256],
                retry_count=IncomingOrder.retry_count + 1,
                last_attempt_at=func.now(),
                next_attempt_at=next_attempt_at,
            )
            .execution_options(synchronize_session=False)
        )

    # --- status ---
    async def add_status_change(self, change: OrderStatusChange) -> None:
        self.session.add(change)
        await self.session.flush()

    async def status_history(self, order_id: int) -> list[OrderStatusChange]:
        stmt = select(OrderStatusChange).where(OrderStatusChange.order_id == order_id).order_by(OrderStatusChange.id)
        return list((await self.session.scalars(stmt)).all())

    async def list_for_trader(
        self, trader_id: int, *, status: str | None, direction: str | None, starting_after: int | None, limit: int
    ) -> list[OrderHistory]:
        stmt = select(OrderHistory).where(OrderHistory.trader_id == trader_id).order_by(OrderHistory.id.desc())
        if status is not None:
            stmt = stmt.where(OrderHistory.status == status)
        if direction is not None:
            stmt = stmt.where(OrderHistory.direction == direction)
        if starting_after is not None:
            stmt = stmt.where(OrderHistory.id < starting_after)
        return list((await self.session.scalars(stmt.limit(limit))).all())

    async def overdue(self, limit: int) -> list[int]:
        stmt = (
            select(OrderHistory.id)
            .where(OrderHistory.status.in_(WAITING), OrderHistory.expires_at < func.now())
            .order_by(OrderHistory.expires_at)
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def reopen_incoming(self, incoming_id: int, *, store_hold_reference: str | None) -> None:
        """A declined pay-out goes back to the processor to find another trader, its store funds
        frozen under ``store_hold_reference`` meanwhile."""
        await self.session.execute(
            update(IncomingOrder)
            .where(IncomingOrder.id == incoming_id, IncomingOrder.status == "assigned")
            .values(
                status="retrying",
                order_id=None,
                next_attempt_at=func.now(),
                failure_reason="declined by trader",
                store_hold_reference=store_hold_reference,
            )
            .execution_options(synchronize_session=False)
        )

    async def traders_who_declined(self, incoming_id: int) -> list[int]:
        """Traders who declined this pay-out before: the processor does not offer it to them again."""
        stmt = select(OrderHistory.trader_id).where(
            OrderHistory.incoming_order_id == incoming_id, OrderHistory.status == "declined"
        )
        return sorted(set((await self.session.scalars(stmt)).all()))

    async def unsettled(self, limit: int, older_than: dt.timedelta) -> list[int]:
        """Completed orders whose settlement is missing (its message lost, its worker killed) for
        longer than ``older_than``; orders flagged as unsettleable are support's, not listed."""
        stmt = (
            select(OrderHistory.id)
            .where(
                OrderHistory.status == "completed",
                OrderHistory.settled_at.is_(None),
                OrderHistory.settlement_error.is_(None),
                func.coalesce(OrderHistory.completed_at, OrderHistory.updated_at) < func.now() - older_than,
            )
            .order_by(OrderHistory.completed_at)
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def flag_settlement_error(self, order_id: int, reason: str) -> bool:
        """Record why a completed order cannot be settled; False when it is settled or flagged already."""
        result = await self.session.execute(
            update(OrderHistory)
            .where(
                OrderHistory.id == order_id,
                OrderHistory.status == "completed",
                OrderHistory.settled_at.is_(None),
                OrderHistory.settlement_error.is_(None),
            )
            .values(settlement_error=reason)
            .returning(OrderHistory.id)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none() is not None
