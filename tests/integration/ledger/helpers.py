from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import Account
from jivapay.domain.ledger.posting import AccountKey
from jivapay.services.ledger.audit import audit_ledger


async def balance(session_factory: async_sessionmaker[AsyncSession], key: AccountKey) -> int:
    async with session_factory() as session:
        value = (
            await session.execute(
                select(Account.balance).where(
                    Account.owner_type == key.owner_type,
                    Account.owner_id == key.owner_id,
                    Account.currency == key.currency,
                    Account.kind == key.kind,
                    Account.label == key.label,
                )
            )
        ).scalar_one_or_none()
    return int(value or 0)


async def assert_ledger_sound(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session, session.begin():
        report = await audit_ledger(session)
    assert report.ok, report.violations
