"""Every route × every kind of caller gets exactly the expected answer.

The routes come from the app itself: a new route that is not classified here fails the
test, and so does a classified route that lets the wrong caller in.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import OrderHistory
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import AdminPermission, Role
from jivapay.http.app import create_app
from tests.factories import bearer, make_api_key, make_store, make_user, token_for

PUBLIC_EXACT = {"/health", "/ready", "/metrics", "/auth/refresh", "/support/auth/login"}
# signed links: the signature is the authorisation (a bad one is a 404, never the file); the
# payment page's token likewise (tests/integration/merchants/test_payment_page.py), and its assets
SIGNED = re.compile(r"^/(files|pay|pay-assets)/")
PUBLIC_PATTERNS = (re.compile(r"^/schema(/.*)?$"), re.compile(r"^/(merchant|trader|teamlead|admin)/auth/token$"))
ANY_USER = {"/auth/logout", "/auth/password"}
ROLE_PREFIXES = {f"/{role.value}/": role for role in Role}
# admin routes any admin may call; every other /admin route needs a permission flag
ADMIN_WITHOUT_PERMISSION = {"/admin/me"}
# the limited admin holds manage_settings: these routes let them in, every other flagged one refuses them
ADMIN_SETTINGS_PREFIXES = ("/admin/settings", "/admin/fraud/")

CALLERS = (
    "anonymous",
    "merchant",
    "foreign_merchant",
    "trader",
    "foreign_trader",
    "teamlead",
    "support",
    "admin",
    "limited_admin",
    "store_key",
)
# path parameters that name something one merchant or trader owns
OWNED_BY = {"store_id": "merchant", "key_id": "merchant", "requisite_id": "trader", "order_id": "trader"}


def app_routes(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", set())):
            if method in ("HEAD", "OPTIONS"):
                continue
            found.append((method, route.path))
    # destructive calls (revoking the store's key) last, so earlier callers still find it
    # deletions, then logout (it ends the caller's session) come last
    return sorted(set(found), key=lambda item: (item[1] == "/auth/logout", item[0] == "DELETE", item[0], item[1]))


def classify(path: str) -> str:
    if path in PUBLIC_EXACT or any(p.match(path) for p in PUBLIC_PATTERNS) or SIGNED.match(path):
        return "public"
    if path in ANY_USER:
        return "any_user"
    if path.startswith("/gateway/"):
        return "store"
    for prefix, role in ROLE_PREFIXES.items():
        if path.startswith(prefix):
            if role == Role.ADMIN and path.startswith(ADMIN_SETTINGS_PREFIXES):
                return "admin_settings"
            if role == Role.ADMIN and path not in ADMIN_WITHOUT_PERMISSION:
                return "admin_permission"
            return role.value
    raise AssertionError(f"route {path} is not classified in the access matrix: decide who may call it")


def expected(rule: str, caller: str, owner: str | None) -> str:
    """'ok' (anything but 401/403/405/5xx), or the exact status."""
    if rule == "public":
        return "ok"
    if caller == "anonymous":
        return "401"
    if rule == "store":
        return "ok" if caller == "store_key" else "401"
    if caller == "store_key":
        return "401"  # an API key is not a user
    if rule == "any_user":
        return "ok"
    role = "admin" if caller == "limited_admin" else caller.replace("foreign_", "")
    if rule == "admin_permission":
        return "ok" if caller == "admin" else "403"
    if rule == "admin_settings":
        return "ok" if caller in ("admin", "limited_admin") else "403"
    if role != rule:
        return "403"
    if caller.startswith("foreign_") and owner == role:
        return "404"  # someone else's row does not exist for this caller
    return "ok"


@dataclasses.dataclass
class World:
    headers: dict[str, dict[str, str]]
    params: dict[str, str]


@pytest.fixture
async def world(seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession]) -> World:
    users = {role: await make_user(session_factory, role) for role in Role}
    foreign = await make_user(session_factory, Role.MERCHANT)
    foreign_trader = await make_user(session_factory, Role.TRADER)
    limited = await make_user(session_factory, Role.ADMIN, permissions={AdminPermission.MANAGE_SETTINGS})
    victim = await make_user(session_factory, Role.SUPPORT)  # target of destructive admin calls
    store_id = await make_store(session_factory, users[Role.MERCHANT].id)
    key_id, api_key = await make_api_key(session_factory, users[Role.MERCHANT].id, store_id)
    headers: dict[str, dict[str, str]] = {"anonymous": {}, "store_key": {"X-API-Key": api_key}}
    for role, user in users.items():
        headers[role.value] = bearer(await token_for(client, role, user.login))
    headers["foreign_merchant"] = bearer(await token_for(client, Role.MERCHANT, foreign.login))
    headers["foreign_trader"] = bearer(await token_for(client, Role.TRADER, foreign_trader.login))
    requisite = await client.post(
        "/trader/requisites",
        headers=headers["trader"],
        json={
            "type": "card",
            "bank_id": 1,
            "payment_method_id": 1,
            "currency": "RUB",
            "owner_name": "Ivan Petrov",
            "number": "4276160000000019",
        },
    )
    assert requisite.status_code == 201, requisite.text
    async with atomic(session_factory) as session:
        order = await OrderRepository(session).add(
            OrderHistory(
                store_id=store_id,
                trader_id=users[Role.TRADER].id,
                direction="payin",
                status="pending_payment",
                currency="RUB",
                amount=10_000,
                rate=Decimal("90"),
                store_commission=Decimal("0.05"),
                trader_commission=Decimal("0.03"),
            )
        )
    headers["limited_admin"] = bearer(await token_for(client, Role.ADMIN, limited.login))
    async with atomic(session_factory) as session:  # the trader is on the teamlead's team
        await session.execute(
            text("UPDATE trader_profiles SET teamlead_id = :lead WHERE user_id = :trader"),
            {"lead": users[Role.TEAMLEAD].id, "trader": users[Role.TRADER].id},
        )
    params = {
        "store_id": str(store_id),
        "key_id": str(key_id),
        "user_id": str(victim.id),
        "path": "openapi.json",
        "ip": "198.51.100.77",
        "requisite_id": str(requisite.json()["id"]),
        "order_id": order.public_id,
        "currency": "RUB",
        "key": "receipts/none.pdf",
        "event_id": "00000000-0000-4000-8000-000000000000",
        "trader_id": str(users[Role.TRADER].id),
        "setting_key": "FRAUD_VELOCITY_MAX_PER_IP",
        "kind": "ips",
        "value": "198.51.100.9",
        "network": "BEP20",
        "withdrawal_id": "wd_aaaaaaaaaaaaaaaaaaaa",
        "token": "not-an-order-token",  # the payment page: 404 for everybody (its own tests open it)
        "name": "theme-1f6feb.css",
    }
    return World(headers, params)


def fill(path: str, params: dict[str, str]) -> tuple[str, str | None]:
    owner: str | None = None

    def replace(match: re.Match[str]) -> str:
        nonlocal owner
        name = match.group(1)
        owner = owner or OWNED_BY.get(name)
        return params[name]

    return re.sub(r"\{(\w+)(?::\w+)?\}", replace, path), owner


async def test_access_matrix(client: Any, world: World) -> None:
    routes = app_routes(create_app())
    assert len(routes) > 20
    failures = []
    for method, template in routes:
        rule = classify(template)
        path, owner = fill(template, world.params)
        for caller in CALLERS:
            want = expected(rule, caller, owner)
            kwargs: dict[str, Any] = {"headers": world.headers[caller]}
            if method in ("POST", "PUT") and template.endswith(("/receipts", "/evidence", "/logo")):  # multipart
                kwargs["files"] = {"data": ("r.pdf", b"%PDF-1.4 test", "application/pdf")}
            elif method in ("POST", "PUT", "PATCH"):
                kwargs["json"] = {}
            response = await client.request(method, path, **kwargs)
            got = response.status_code
            good = got not in (401, 403, 405) and got < 500 if want == "ok" else got == int(want)
            if not good:
                failures.append(f"{method} {template} as {caller}: want {want}, got {got} {response.text[:120]}")
    assert not failures, "\n".join(failures)


def test_every_route_is_classified() -> None:
    for _, path in app_routes(create_app()):
        classify(path)
