"""The merchants and traders a chaos or soak run works with, written through the real services.

Runs as its own process against the platform's database (``DATABASE_URL`` in its
environment), after ``jivapay migrate``; it writes the reference data first (what
``jivapay seed`` writes, ``services.platform.seed.seed_all``):

    python -m tests.chaos.world '{"stores": 3, "traders": 4, ...}'

and prints one JSON line: the stores (id, API key, signing secret), the traders (id, login,
password) and the USDT deposited in total. The collateral and the stores' floats are deposits
(``services.ledger.posting.credit_deposit``), as a chain deposit would post them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from decimal import Decimal
from typing import Any

PASSWORD = "chaos-password-42"
USDT = 10**6


@dataclasses.dataclass(frozen=True)
class WorldSpec:
    stores: int = 3
    traders: int = 4
    requisites_per_trader: int = 3
    trader_collateral_usdt: int = 50_000
    store_float_usdt: int = 20_000
    max_open_orders: int = 50
    rate: str = "92.50"
    config: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Store:
    id: int
    api_key: str
    signing_secret: str


@dataclasses.dataclass(frozen=True)
class Trader:
    id: int
    login: str
    password: str


@dataclasses.dataclass(frozen=True)
class World:
    stores: list[Store]
    traders: list[Trader]
    deposited_usdt: int  # minor units, everything credit_deposit posted

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> World:
        return cls(
            [Store(**s) for s in raw["stores"]], [Trader(**t) for t in raw["traders"]], int(raw["deposited_usdt"])
        )


def card_number(prefix: str, n: int) -> str:
    """The ``n``-th Luhn-valid 16-digit test card number starting with ``prefix`` (6 digits)."""
    from jivapay.domain.orders.requisites import luhn_ok

    base = f"{prefix}{n:09d}"
    return next(base + digit for digit in "0123456789" if luhn_ok(base + digit))


async def build(spec: WorldSpec) -> World:
    from jivapay.adapters.db.uow import atomic
    from jivapay.adapters.resources import close_resources, get_resources
    from jivapay.domain.identity.roles import Role
    from jivapay.domain.orders.requisites import RequisiteDirection, RequisiteType
    from jivapay.domain.platform.audit import Actor
    from jivapay.services.identity.users import create_user
    from jivapay.services.ledger import posting
    from jivapay.services.merchants import stores as store_service
    from jivapay.services.orders.requisites import create_requisite
    from jivapay.services.platform.config import set_config
    from jivapay.services.platform.reference_data import set_exchange_rate
    from jivapay.services.platform.seed import seed_all
    from jivapay.settings import get_settings

    settings = get_settings()
    system = Actor.system("chaos-world")
    deposited = 0
    stores: list[Store] = []
    traders: list[Trader] = []
    try:
        async with atomic(get_resources().session_factory, name="chaos.world") as session:
            await seed_all(session)
            for key, value in spec.config.items():
                await set_config(session, key, value, actor=system)
            await set_exchange_rate(session, "RUB", Decimal(spec.rate), actor=system)
            merchant = await create_user(
                session, settings, system, login="chaos-merchant", password=PASSWORD, role=Role.MERCHANT
            )
            for n in range(spec.stores):
                store, secret = await store_service.create_store(
                    session, settings, system, merchant_id=merchant.user.id, name=f"Chaos shop {n + 1}"
                )
                issued = await store_service.issue_api_key(
                    session, settings, system, merchant_id=merchant.user.id, store_id=store.id, name="chaos"
                )
                amount = spec.store_float_usdt * USDT
                await posting.credit_deposit(session, "store", store.id, "TRC20", amount, f"chaos-store-{store.id}")
                deposited += amount
                stores.append(Store(store.id, issued.plaintext, secret))
            for n in range(spec.traders):
                login = f"chaos-trader-{n + 1}"
                trader = await create_user(
                    session,
                    settings,
                    system,
                    login=login,
                    password=PASSWORD,
                    role=Role.TRADER,
                    profile={"in_work": True},
                )
                for r in range(spec.requisites_per_trader):
                    await create_requisite(
                        session,
                        settings,
                        system,
                        trader_id=trader.user.id,
                        type_=RequisiteType.CARD,
                        bank_id=1,
                        payment_method_id=1,
                        currency="RUB",
                        owner_name="Ivan Petrov",
                        number=card_number("220000", n * 100 + r),
                        direction=RequisiteDirection.BOTH,
                        limits={"max_open_orders": spec.max_open_orders},
                    )
                amount = spec.trader_collateral_usdt * USDT
                await posting.credit_deposit(
                    session, "trader", trader.user.id, "TRC20", amount, f"chaos-trader-{trader.user.id}"
                )
                deposited += amount
                traders.append(Trader(trader.user.id, login, PASSWORD))
    finally:
        await close_resources()
    return World(stores, traders, deposited)


def create_world(spec: WorldSpec, env: dict[str, str]) -> World:
    """Run ``build`` in its own process, against the database in ``env``."""
    import subprocess

    from tests.e2e.conftest import REPO

    done = subprocess.run(
        [sys.executable, "-m", "tests.chaos.world", json.dumps(dataclasses.asdict(spec))],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the world could not be built:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return World.from_json(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    spec = WorldSpec(**json.loads(sys.argv[1]))
    world = asyncio.run(build(spec))
    print(json.dumps(dataclasses.asdict(world)))


if __name__ == "__main__":
    main()
