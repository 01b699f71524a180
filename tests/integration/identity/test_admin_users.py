from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import AuditLogEntry, LoginAttempt, User
from jivapay.domain.identity.roles import AdminPermission, Role
from tests.factories import bearer, login, make_user, token_for


async def _admin(client: Any, session_factory: async_sessionmaker[AsyncSession], **kwargs: Any) -> dict[str, str]:
    admin = await make_user(session_factory, Role.ADMIN, **kwargs)
    return bearer(await token_for(client, Role.ADMIN, admin.login))


async def test_create_user_with_profile_then_log_in(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    headers = await _admin(client, session_factory)
    teamlead = await make_user(session_factory, Role.TEAMLEAD)
    created = await client.post(
        "/admin/users",
        headers=headers,
        json={
            "login": "Trader.One",
            "password": "strong-pass-1",
            "role": "trader",
            "email": "T1@Example.com",
            "profile": {"teamlead_id": teamlead.id, "traffic_priority": 5, "in_work": True},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["login"] == "trader.one"
    assert body["email"] == "t1@example.com"
    assert body["profile"]["teamlead_id"] == teamlead.id
    assert body["profile"]["traffic_priority"] == 5
    assert (await login(client, Role.TRADER, "TRADER.ONE", "strong-pass-1")).status_code == 200
    duplicate = await client.post(
        "/admin/users", headers=headers, json={"login": "trader.one", "password": "strong-pass-1", "role": "trader"}
    )
    assert duplicate.status_code == 409


async def test_bad_input_is_422_and_creates_nothing(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    headers = await _admin(client, session_factory)
    cases = [
        ({"login": "ab", "password": "strong-pass-1", "role": "merchant"}, "login"),
        ({"login": "good-login", "password": "short1", "role": "merchant"}, "password"),
        ({"login": "good-login", "password": "no-digits-here", "role": "merchant"}, "password"),
        ({"login": "good-login", "password": "strong-pass-1", "role": "king"}, None),
        ({"login": "good-login", "password": "strong-pass-1", "role": "merchant", "profile": {"in_work": True}}, None),
        (
            {"login": "good-login", "password": "strong-pass-1", "role": "trader", "profile": {"teamlead_id": 999}},
            "teamlead_id",
        ),
        ({"login": "good-login", "password": "strong-pass-1", "role": "merchant", "email": "not-an-email"}, "email"),
        ({"login": "good-login", "password": "strong-pass-1", "role": "merchant", "extra": 1}, None),
    ]
    for payload, field in cases:
        response = await client.post("/admin/users", headers=headers, json=payload)
        assert response.status_code == 422, (payload, response.text)
        if field:
            assert response.json()["error"]["details"]["field"] == field
    async with session_factory() as session:
        assert (await session.scalars(select(User).where(User.login == "good-login"))).all() == []


async def test_update_list_get_reset_password(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> None:
    headers = await _admin(client, session_factory)
    trader = await make_user(session_factory, Role.TRADER, full_name="Ivan Petrov")
    patched = await client.patch(
        f"/admin/users/{trader.id}", headers=headers, json={"email": "ivan@example.com", "profile": {"in_work": True}}
    )
    assert patched.status_code == 200
    assert patched.json()["profile"]["in_work"] is True
    listed = await client.get("/admin/users", headers=headers, params={"role": "trader"})
    assert [u["id"] for u in listed.json()["data"]] == [trader.id]
    assert listed.json()["data"][0]["full_name"] == "Ivan P."  # masked in lists
    single = await client.get(f"/admin/users/{trader.id}", headers=headers)
    assert single.json()["full_name"] == "Ivan Petrov"
    assert (await client.get("/admin/users/999999", headers=headers)).status_code == 404
    reset = await client.post(f"/admin/users/{trader.id}/password", headers=headers, json={"password": "fresh-pass-9"})
    assert reset.status_code == 204
    assert (await login(client, Role.TRADER, trader.login, "fresh-pass-9")).status_code == 200
    async with session_factory() as session:
        actions = (await session.scalars(select(AuditLogEntry.action).order_by(AuditLogEntry.id))).all()
    assert {"user.update", "user.password_reset"} <= set(actions)


async def test_pagination_with_starting_after(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> None:
    headers = await _admin(client, session_factory)
    ids = [(await make_user(session_factory, Role.SUPPORT)).id for _ in range(5)]
    first = (await client.get("/admin/users", headers=headers, params={"role": "support", "limit": 2})).json()
    assert [u["id"] for u in first["data"]] == ids[:2]
    assert first["has_more"] is True
    rest = (
        await client.get(
            "/admin/users", headers=headers, params={"role": "support", "limit": 10, "starting_after": ids[1]}
        )
    ).json()
    assert [u["id"] for u in rest["data"]] == ids[2:]
    assert rest["has_more"] is False
    assert (await client.get("/admin/users", headers=headers, params={"limit": 0})).status_code == 422


async def test_permission_flags_gate_admin_endpoints(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    limited = await _admin(client, session_factory, permissions={AdminPermission.MANAGE_SETTINGS})
    response = await client.get("/admin/users", headers=limited)
    assert response.status_code == 403
    assert response.json()["error"]["details"]["required_permission"] == "manage_users"
    assert (await client.get("/admin/me", headers=limited)).status_code == 200

    boss = await _admin(client, session_factory)
    target = await make_user(session_factory, Role.ADMIN, permissions=set())
    granted = await client.put(
        f"/admin/users/{target.id}/permissions", headers=boss, json={"permissions": ["manage_users", "manage_finances"]}
    )
    assert granted.status_code == 200
    token = bearer(await token_for(client, Role.ADMIN, target.login))
    assert (await client.get("/admin/users", headers=token)).status_code == 200
    assert sorted((await client.get("/admin/me", headers=token)).json()["permissions"]) == [
        "manage_finances",
        "manage_users",
    ]
    # without manage_permissions it cannot grant flags
    no_grant = await client.post(
        "/admin/users",
        headers=token,
        json={"login": "new-admin", "password": "strong-pass-1", "role": "admin", "permissions": ["manage_users"]},
    )
    assert no_grant.status_code == 403
    not_admin = await make_user(session_factory, Role.MERCHANT)
    assert (
        await client.put(f"/admin/users/{not_admin.id}/permissions", headers=boss, json={"permissions": []})
    ).status_code == 422


async def test_export_and_anonymize(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> None:
    headers = await _admin(client, session_factory)
    merchant = await make_user(
        session_factory,
        Role.MERCHANT,
        email="anna@example.com",
        full_name="Anna Smirnova",
        profile={"company_name": "Anna LLC", "contact_phone": "+79161234567"},
    )
    await login(client, Role.MERCHANT, merchant.login, headers={"User-Agent": "Firefox"})
    await client.post(
        "/merchant/stores",
        json={"name": "Anna's"},
        headers=bearer(await token_for(client, Role.MERCHANT, merchant.login)),
    )
    exported = await client.get(f"/admin/users/{merchant.id}/export", headers=headers)
    assert exported.status_code == 200
    data = exported.json()
    assert data["user"]["email"] == "anna@example.com"
    assert data["user"]["full_name"] == "Anna Smirnova"
    assert data["profile"]["company_name"] == "Anna LLC"
    assert "Firefox" in [entry["user_agent"] for entry in data["login_history"]]
    assert data["stores"][0]["name"] == "Anna's"

    anonymized = await client.post(f"/admin/users/{merchant.id}/anonymize", headers=headers)
    assert anonymized.status_code == 200
    body = anonymized.json()
    assert body["id"] == merchant.id
    assert body["email"] is None
    assert body["full_name"] is None
    assert body["login"] == f"anonymized-{merchant.id}"
    assert body["is_active"] is False
    assert body["profile"]["company_name"] is None
    again = await client.post(f"/admin/users/{merchant.id}/anonymize", headers=headers)
    assert again.status_code == 409
    assert (await login(client, Role.MERCHANT, merchant.login)).status_code == 401
    async with session_factory() as session:
        attempts = (await session.scalars(select(LoginAttempt).where(LoginAttempt.user_id == merchant.id))).all()
        audit = (await session.scalars(select(AuditLogEntry.action))).all()
    assert all(a.ip is None and a.user_agent is None for a in attempts)
    assert {"user.export", "user.anonymize"} <= set(audit)
    after = (await client.get(f"/admin/users/{merchant.id}/export", headers=headers)).json()
    assert "anna" not in str({k: after[k] for k in ("user", "profile", "login_history")}).lower()
