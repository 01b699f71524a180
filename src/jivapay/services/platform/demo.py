"""Demo data for `jivapay up`: one user per role, a merchant store with an API key.

Passwords are random per installation and written, with the store's API key, to the
demo file (git-ignored, mode 600); a second run finds the users and keeps the file.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.domain.identity.roles import ALL_ADMIN_PERMISSIONS, Role
from jivapay.domain.orders.requisites import RequisiteDirection, RequisiteType
from jivapay.domain.platform.audit import Actor
from jivapay.services.identity import directory
from jivapay.services.identity import users as user_service
from jivapay.services.ledger import posting
from jivapay.services.merchants import stores as store_service
from jivapay.services.orders.requisites import create_requisite
from jivapay.services.platform.reference_data import set_exchange_rate
from jivapay.settings import Settings

DEMO_LOGINS = {
    Role.ADMIN: "demo-admin",
    Role.MERCHANT: "demo-merchant",
    Role.TRADER: "demo-trader",
    Role.TEAMLEAD: "demo-teamlead",
    Role.SUPPORT: "demo-support",
}
SEEDER = Actor.system("demo-seed")
DEMO_TRADER_COLLATERAL = 1_000 * 10**6  # 1000 USDT
DEMO_STORE_FLOAT = 100 * 10**6
DEMO_CARD = "4276160000000019"  # a test number (Luhn-valid)


def _password() -> str:
    return f"demo-{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"


async def ensure_admin(session: AsyncSession, settings: Settings) -> tuple[str, str | None] | None:
    """Create the first admin (every permission) when there is no admin at all.

    Returns (login, generated password or None when INITIAL_ADMIN_PASSWORD was given), or
    None when an admin already exists.
    """
    if await directory.anyone_with_role(session, Role.ADMIN):
        return None
    generated = None if settings.initial_admin_password else _password()
    await user_service.create_user(
        session,
        settings,
        SEEDER,
        login=settings.initial_admin_login,
        password=settings.initial_admin_password or generated or "",
        role=Role.ADMIN,
        permissions=sorted(ALL_ADMIN_PERMISSIONS),
    )
    return settings.initial_admin_login, generated


async def seed_demo(session: AsyncSession, settings: Settings) -> dict[str, Any] | None:
    """Create the demo users and store; None when they already exist (nothing new to show)."""
    if await directory.find_user_by_login(session, DEMO_LOGINS[Role.ADMIN]) is not None:
        return None
    users: dict[str, dict[str, str]] = {}
    ids: dict[Role, int] = {}
    for role in (Role.ADMIN, Role.TEAMLEAD, Role.MERCHANT, Role.TRADER, Role.SUPPORT):
        password = _password()
        profile: dict[str, Any] = {}
        if role == Role.TRADER:
            profile = {"teamlead_id": ids[Role.TEAMLEAD], "in_work": True}
        elif role == Role.SUPPORT:
            profile = {"queues": ["disputes", "reviews"]}
        elif role == Role.MERCHANT:
            profile = {"company_name": "Demo Shop LLC"}
        view = await user_service.create_user(
            session,
            settings,
            SEEDER,
            login=DEMO_LOGINS[role],
            password=password,
            role=role,
            email=f"{DEMO_LOGINS[role]}@jivapay.local",
            profile=profile,
            permissions=sorted(ALL_ADMIN_PERMISSIONS) if role == Role.ADMIN else (),
        )
        ids[role] = view.user.id
        users[role.value] = {"login": DEMO_LOGINS[role], "password": password}
    store, signing_secret = await store_service.create_store(
        session, settings, SEEDER, merchant_id=ids[Role.MERCHANT], name="Demo Shop"
    )
    issued = await store_service.issue_api_key(
        session, settings, SEEDER, merchant_id=ids[Role.MERCHANT], store_id=store.id, name="demo"
    )
    # a RUB rate, a card for the trader, collateral for the trader and a float for the store
    await set_exchange_rate(session, "RUB", Decimal("92.50"), actor=SEEDER)
    await create_requisite(
        session,
        settings,
        SEEDER,
        trader_id=ids[Role.TRADER],
        type_=RequisiteType.CARD,
        bank_id=1,
        payment_method_id=1,
        currency="RUB",
        owner_name="Demo Trader",
        number=DEMO_CARD,
        direction=RequisiteDirection.BOTH,
        limits={"max_open_orders": 10},
    )
    await posting.credit_deposit(
        session, "trader", ids[Role.TRADER], "TRC20", DEMO_TRADER_COLLATERAL, "demo-collateral"
    )
    await posting.credit_deposit(session, "store", store.id, "TRC20", DEMO_STORE_FLOAT, "demo-store-float")
    return {
        "users": users,
        "store": {"id": store.id, "api_key": issued.plaintext, "signing_secret": signing_secret},
    }
