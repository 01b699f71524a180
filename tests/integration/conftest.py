"""Shared world for order tests: a store, traders with collateral, requisites, incoming orders."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import ExchangeRate, Hold, IncomingOrder, OrderHistory
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.requisites import RequisiteDirection, RequisiteType
from jivapay.domain.platform.audit import Actor
from jivapay.services.ledger import posting
from jivapay.services.orders.processing import process_incoming_order
from jivapay.services.orders.requisites import create_requisite
from jivapay.services.platform.config import set_config
from jivapay.settings import get_settings
from tests.factories import incoming_of, incoming_reference, make_store, make_user

SYSTEM = Actor.system("tests")
CARDS = iter(f"4276160000{n:05d}" for n in range(100000))


def _card() -> str:
    from jivapay.domain.orders.requisites import luhn_ok

    while True:
        base = next(CARDS)[:15]
        for digit in "0123456789":
            if luhn_ok(base + digit):
                return base + digit


@dataclasses.dataclass
class World:
    session_factory: async_sessionmaker[AsyncSession]
    store_id: int

    async def trader(
        self, *, collateral: int = 10_000 * 10**6, priority: int = 100, in_work: bool = True, payin_enabled: bool = True
    ) -> int:
        user = await make_user(
            self.session_factory,
            Role.TRADER,
            profile={"traffic_priority": priority, "in_work": in_work, "payin_enabled": payin_enabled},
        )
        if collateral:
            async with atomic(self.session_factory) as session:
                await posting.credit_deposit(session, "trader", user.id, "TRC20", collateral, f"c-{user.id}")
        return user.id

    async def requisite(self, trader_id: int, **overrides: Any) -> int:
        fields: dict[str, Any] = {
            "type_": RequisiteType.CARD,
            "bank_id": 1,
            "payment_method_id": 1,
            "currency": "RUB",
            "owner_name": "Ivan Petrov",
            "number": _card(),
            "direction": RequisiteDirection.BOTH,
            "limits": {},
        }
        fields.update(overrides)
        async with atomic(self.session_factory) as session:
            requisite = await create_requisite(session, get_settings(), SYSTEM, trader_id=trader_id, **fields)
        return requisite.id

    async def incoming(self, amount: int = 150_000, **overrides: Any) -> int:
        fields: dict[str, Any] = {
            "store_id": self.store_id,
            "direction": "payin",
            "amount": amount,
            "currency": "RUB",
            "payment_method_id": 1,
            "merchant_order_id": f"m-{id(overrides)}-{amount}-{len(str(overrides))}",
        }
        fields.update(overrides)
        async with atomic(self.session_factory) as session:
            order = await OrderRepository(session).add_incoming(IncomingOrder(**fields))
        return order.id

    async def process(self, incoming: int | str) -> Any:
        """Assign an incoming order, given its id or its public reference (what the gateway answered)."""
        if isinstance(incoming, str):
            incoming = (await incoming_of(self.session_factory, incoming)).id
        return await process_incoming_order(self.session_factory, incoming)

    async def ref(self, incoming_id: int) -> str:
        return await incoming_reference(self.session_factory, incoming_id)

    async def assigned(self, amount: int = 150_000, ref: str = "s") -> OrderHistory:
        """A pay-in taken by one of the world's traders (create them first), as the order row."""
        outcome = await self.process(await self.incoming(amount, merchant_order_id=ref))
        assert outcome.status == "assigned", outcome
        async with self.session_factory() as session:
            order = await session.get(OrderHistory, outcome.order_id)
        assert order is not None
        return order

    async def order_hold(self, order_id: int) -> Hold:
        """The collateral hold of an order."""
        async with self.session_factory() as session:
            return (
                await session.scalars(select(Hold).where(Hold.reference == posting.order_hold_reference(order_id)))
            ).one()

    async def configure(self, **values: Any) -> None:
        async with atomic(self.session_factory) as session:
            for key, value in values.items():
                await set_config(session, key, value, actor=SYSTEM)


@pytest.fixture
async def world(seeded: None, session_factory: async_sessionmaker[AsyncSession]) -> World:
    merchant = await make_user(session_factory, Role.MERCHANT)
    store_id = await make_store(session_factory, merchant.id)
    async with atomic(session_factory) as session:
        session.add(ExchangeRate(currency="RUB", rate=Decimal("90"), source="manual"))
    return World(session_factory, store_id)


@pytest.fixture
async def support(world: World, support_api: Any) -> dict[str, str]:
    """A support agent's bearer headers, for tests that call the API through ``client``."""
    return support_api.headers  # type: ignore[no-any-return]
