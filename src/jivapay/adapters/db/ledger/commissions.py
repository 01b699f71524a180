from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.ledger.models import COMMISSION_OWNER_TYPES
from jivapay.adapters.db.models import Commission


def rate_sql(owner_type: str, owner_id: str) -> str:
    """The most specific rate of one owner: this payment method's, else the owner's general one
    (NULL when none is set). ``owner_id`` is an SQL expression (a bind parameter or a column);
    the statement binds ``:direction`` and ``:payment_method_id``. Shared with the selection
    re-check, which reads both rates in its own round trip."""
    if owner_type not in COMMISSION_OWNER_TYPES:
        raise ValueError(f"not a commission owner: {owner_type!r}")
    return f"""(SELECT rate FROM commissions
       WHERE owner_type = '{owner_type}' AND owner_id = {owner_id} AND direction = :direction
         AND (payment_method_id = CAST(:payment_method_id AS integer) OR payment_method_id IS NULL)
       ORDER BY payment_method_id IS NULL LIMIT 1)"""  # noqa: S608 - the owner type is checked, the id is SQL


_RATES = text(
    f"SELECT {rate_sql('store', ':store_id')} AS store_rate, {rate_sql('trader', ':trader_id')} AS trader_rate"
)


class CommissionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rates(
        self, store_id: int, trader_id: int, direction: str, payment_method_id: int | None
    ) -> tuple[Decimal | None, Decimal | None]:
        """(store rate, trader rate), each None when neither a specific nor a general one is set."""
        row = (
            await self.session.execute(
                _RATES,
                {
                    "store_id": store_id,
                    "trader_id": trader_id,
                    "direction": direction,
                    "payment_method_id": payment_method_id,
                },
            )
        ).one()
        return row.store_rate, row.trader_rate

    async def owner_rates(self, owner_type: str, owner_id: int) -> list[tuple[str, int | None, Decimal]]:
        """Every rate set for the store or trader: (direction, payment method id or None, rate)."""
        rows = (
            await self.session.execute(
                select(Commission.direction, Commission.payment_method_id, Commission.rate)
                .where(Commission.owner_type == owner_type, Commission.owner_id == owner_id)
                .order_by(Commission.direction, Commission.payment_method_id.nulls_first())
            )
        ).all()
        return [(str(d), pm, rate) for d, pm, rate in rows]

    async def set_rate(
        self, owner_type: str, owner_id: int, direction: str, payment_method_id: int | None, rate: Decimal
    ) -> None:
        stmt = insert(Commission).values(
            owner_type=owner_type,
            owner_id=owner_id,
            direction=direction,
            payment_method_id=payment_method_id,
            rate=rate,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                Commission.owner_type,
                Commission.owner_id,
                Commission.direction,
                # the index's own expression, with 0 written into the SQL: as a bind parameter it no
                # longer matches the index once PostgreSQL plans the prepared statement generically
                # (its sixth run on a connection) and the upsert fails
                func.coalesce(Commission.payment_method_id, literal_column("0")),
            ],
            set_={"rate": stmt.excluded.rate, "updated_at": func.now()},
        )
        await self.session.execute(stmt)
