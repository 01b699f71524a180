from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.base import Base
from jivapay.adapters.db.models import (
    Bank,
    CryptoCurrency,
    ExchangeRate,
    FiatCurrency,
    PaymentMethod,
    Role,
)
from jivapay.adapters.memo import Memo
from jivapay.domain.errors import NotFound

_CONFLICT_KEYS: dict[type[Base], list[str]] = {
    Role: ["code"],
    FiatCurrency: ["code"],
    CryptoCurrency: ["code", "network"],
    Bank: ["code"],
    PaymentMethod: ["code"],
}


_MINOR_UNITS: Memo[str, int] = Memo("reference.minor_units", maxsize=1000, ttl=None)


class ReferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_missing(self, model: type[Base], rows: list[dict[str, Any]]) -> int:
        """Insert reference rows that are not there yet (keyed by their natural key)."""
        if not rows:
            return 0
        stmt = (
            insert(model)
            .values(rows)
            .on_conflict_do_nothing(index_elements=_CONFLICT_KEYS[model])
            .returning(*model.__table__.primary_key)
        )
        return len((await self.session.execute(stmt)).all())

    async def exchange_rate(self, currency: str) -> Decimal | None:
        stmt = select(ExchangeRate.rate).where(ExchangeRate.currency == currency)
        value = (await self.session.execute(stmt)).scalar_one_or_none()
        return Decimal(value) if value is not None else None

    async def rates(self) -> list[ExchangeRate]:
        return list((await self.session.scalars(select(ExchangeRate).order_by(ExchangeRate.currency))).all())

    async def upsert_rate(self, currency: str, rate: Decimal, source: str, updated_by: str) -> None:
        stmt = insert(ExchangeRate).values(currency=currency, rate=rate, source=source, updated_by=updated_by)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[ExchangeRate.currency],
                set_={
                    "rate": stmt.excluded.rate,
                    "source": stmt.excluded.source,
                    "updated_by": stmt.excluded.updated_by,
                    "updated_at": func.now(),
                },
            )
        )

    async def fiat_currency_exists(self, currency: str) -> bool:
        return await self.session.get(FiatCurrency, currency) is not None

    async def fiat_currency(self, currency: str) -> FiatCurrency | None:
        return await self.session.get(FiatCurrency, currency)

    async def bank(self, bank_id: int) -> Bank | None:
        return await self.session.get(Bank, bank_id)

    async def bank_by_code(self, code: str, currency: str) -> Bank | None:
        stmt = select(Bank).where(Bank.code == code, Bank.currency_code == currency)
        return (await self.session.scalars(stmt)).first()

    async def payment_method(self, method_id: int) -> PaymentMethod | None:
        return await self.session.get(PaymentMethod, method_id)

    async def payment_method_by_code(self, code: str) -> PaymentMethod | None:
        return (await self.session.scalars(select(PaymentMethod).where(PaymentMethod.code == code))).first()

    async def fiat_minor_units(self, currency: str) -> int:
        """A currency's minor units never change once it exists: cached per process."""
        known = _MINOR_UNITS.get(currency)
        if known is not None:
            return known
        value = (
            await self.session.execute(select(FiatCurrency.minor_units).where(FiatCurrency.code == currency))
        ).scalar_one_or_none()
        if value is None:
            raise NotFound("Unknown fiat currency", currency=currency)
        _MINOR_UNITS.set(currency, int(value))
        return int(value)
