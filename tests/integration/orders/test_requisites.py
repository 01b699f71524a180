from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import AuditLogEntry, Requisite
from jivapay.domain.identity.roles import AdminPermission, Role
from tests.factories import LoggedIn, bearer, make_user, token_for

CARD = "4276 1600 0000 0019"  # Luhn-valid
REQUISITE = {
    "type": "card",
    "bank_id": 1,
    "payment_method_id": 1,
    "currency": "RUB",
    "owner_name": "Ivan Petrov",
    "number": CARD,
    "direction": "payin",
    "limits": {
        "min_amount": "100.00",
        "max_amount": "50000.00",
        "daily_limit": "300000.00",
        "orders_per_day": 50,
        "max_open_orders": 3,
    },
}


async def _trader(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> tuple[int, dict[str, str]]:
    trader = await make_user(session_factory, Role.TRADER)
    return trader.id, bearer(await token_for(client, Role.TRADER, trader.login))


async def test_trader_manages_own_requisites_masked_in_lists(
    seeded: None, trader_api: LoggedIn, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    created = await trader_api.post("/trader/requisites", json=REQUISITE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["number"] == "427616 **** **** 0019"
    assert body["owner_name"] == "Ivan P."
    assert body["limits"]["max_amount"] == "50000.00"
    listed = (await trader_api.get("/trader/requisites")).json()
    assert [r["number"] for r in listed["data"]] == ["427616 **** **** 0019"]
    detail = (await trader_api.get(f"/trader/requisites/{body['id']}")).json()
    assert detail["number"] == "4276160000000019"
    assert detail["owner_name"] == "Ivan Petrov"
    patched = await trader_api.patch(
        f"/trader/requisites/{body['id']}", json={"is_active": False, "limits": {"max_amount": "1000.00"}}
    )
    assert patched.status_code == 200
    assert patched.json()["is_active"] is False
    assert patched.json()["limits"]["max_amount"] == "1000.00"
    assert (await trader_api.delete(f"/trader/requisites/{body['id']}")).status_code == 204
    assert (await trader_api.get("/trader/requisites")).json()["data"] == []
    async with session_factory() as session:
        stored = (await session.scalars(select(Requisite))).one()
        audit = (await session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "requisite.create"))).one()
    assert "4276160000000019" not in stored.number_encrypted
    assert audit.details["number"] == "4276 **** **** 0019"
    assert audit.details["owner_name"] == "Ivan P."


async def test_bad_requisites_are_422_and_duplicates_409(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, headers = await _trader(client, session_factory)
    cases = [
        ({**REQUISITE, "number": "4276 1600 0000 0018"}, "number"),  # Luhn fails
        ({**REQUISITE, "type": "phone", "number": "12345"}, "number"),
        ({**REQUISITE, "type": "account", "number": "12-34"}, "number"),
        ({**REQUISITE, "bank_id": 999}, "bank_id"),
        ({**REQUISITE, "bank_id": 7}, "currency"),  # a KZT bank for a RUB requisite
        ({**REQUISITE, "currency": "XXX"}, "currency"),
        ({**REQUISITE, "limits": {"min_amount": "500.00", "max_amount": "100.00"}}, "min_amount"),
        ({**REQUISITE, "limits": {"max_amount": "1.001"}}, "max_amount"),
        ({**REQUISITE, "owner_name": "x"}, "owner_name"),
    ]
    for payload, field in cases:
        response = await client.post("/trader/requisites", json=payload, headers=headers)
        assert response.status_code == 422, (payload, response.text)
        assert response.json()["error"]["details"]["field"] == field
    assert (await client.post("/trader/requisites", json=REQUISITE, headers=headers)).status_code == 201
    _, other = await _trader(client, session_factory)
    duplicate = await client.post("/trader/requisites", json=REQUISITE, headers=other)
    assert duplicate.status_code == 409
    phone = await client.post(
        "/trader/requisites",
        headers=headers,
        json={**REQUISITE, "type": "phone", "payment_method_id": 2, "number": "8 916 123-45-67"},
    )
    assert phone.status_code == 201
    assert phone.json()["number"] == "**** 4567"


async def test_another_traders_requisite_is_404_admin_sees_all(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    owner_id, owner = await _trader(client, session_factory)
    _, other = await _trader(client, session_factory)
    created = (await client.post("/trader/requisites", json=REQUISITE, headers=owner)).json()
    for method in ("get", "patch", "delete"):
        kwargs: dict[str, Any] = {"headers": other}
        if method == "patch":
            kwargs["json"] = {"is_active": False}
        response = await getattr(client, method)(f"/trader/requisites/{created['id']}", **kwargs)
        assert response.status_code == 404
    admin = await make_user(session_factory, Role.ADMIN)
    headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    listed = (await client.get("/admin/requisites", headers=headers, params={"trader_id": owner_id})).json()
    assert [r["id"] for r in listed["data"]] == [created["id"]]
    made = await client.post(
        "/admin/requisites", headers=headers, json={**REQUISITE, "number": "5555555555554444", "trader_id": owner_id}
    )
    assert made.status_code == 201
    limited = await make_user(session_factory, Role.ADMIN, permissions={AdminPermission.MANAGE_USERS})
    limited_headers = bearer(await token_for(client, Role.ADMIN, limited.login))
    assert (await client.get("/admin/requisites", headers=limited_headers)).status_code == 403


async def test_anonymizing_a_trader_scrubs_requisites(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    trader_id, headers = await _trader(client, session_factory)
    await client.post("/trader/requisites", json=REQUISITE, headers=headers)
    admin = await make_user(session_factory, Role.ADMIN)
    admin_headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    assert (await client.post(f"/admin/users/{trader_id}/anonymize", headers=admin_headers)).status_code == 200
    async with session_factory() as session:
        stored = (await session.scalars(select(Requisite))).one()
    assert stored.owner_name == "anonymized"
    assert stored.number_bin is None
    assert stored.archived_at is not None
    assert stored.number_last4 == "0019"


async def test_staff_see_requisites_masked_and_reveal_them_only_with_a_reason_on_record(
    seeded: None,
    trader_api: LoggedIn,
    admin_api: LoggedIn,
    logged_in: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    created = (await trader_api.post("/trader/requisites", json=REQUISITE)).json()
    detail = await admin_api.get(f"/admin/requisites/{created['id']}")
    assert detail.status_code == 200
    assert detail.json()["number"] == "427616 **** **** 0019"
    assert detail.json()["owner_name"] == "Ivan P."
    no_reason = await admin_api.post(f"/admin/requisites/{created['id']}/reveal", json={"reason": " "})
    assert no_reason.status_code == 422
    revealed = await admin_api.post(f"/admin/requisites/{created['id']}/reveal", json={"reason": "chargeback case 77"})
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["number"] == CARD.replace(" ", "")
    assert revealed.json()["owner_name"] == REQUISITE["owner_name"]
    limited = await logged_in(Role.ADMIN, permissions={AdminPermission.MANAGE_USERS})
    refused = await limited.post(f"/admin/requisites/{created['id']}/reveal", json={"reason": "curious"})
    assert refused.status_code == 403
    async with session_factory() as session:
        [entry] = (await session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "requisite.reveal"))).all()
    assert entry.actor_id == str(admin_api.user.id)
    assert entry.details["reason"] == "chargeback case 77"
    # the audit log, read through the admin API, never holds the full number or name
    log = await admin_api.get("/admin/audit", params={"limit": 200})
    assert log.status_code == 200
    assert CARD not in log.text
    assert REQUISITE["owner_name"] not in log.text
