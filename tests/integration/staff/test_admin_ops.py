"""Admin operations over the HTTP API: settings (typed, audited, live without a restart), fraud
blocklists, commissions, the status override (money through the status manager) and the
audit log view."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from jivapay.adapters.db.models import AuditLogEntry, Hold, OrderHistory
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import AdminPermission, Role
from jivapay.services.ledger import posting
from tests.factories import bearer, make_user, token_for
from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound


@pytest.fixture
async def admin(world: World, client: Any) -> dict[str, str]:
    user = await make_user(world.session_factory, Role.ADMIN)
    return bearer(await token_for(client, Role.ADMIN, user.login))


async def test_settings_are_typed_audited_and_live(world: World, client: Any, admin: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    listing = await client.get("/admin/settings", headers=admin)
    assert listing.status_code == 200, listing.text
    by_key = {s["key"]: s for s in listing.json()}
    assert by_key["FRAUD_DENY_AMOUNT"]["is_default"] is True
    assert by_key["RETRY_BACKOFF_FACTOR"] == {**by_key["RETRY_BACKOFF_FACTOR"], "value": "2", "value_type": "decimal"}

    # a bad value is a 422 naming the key, and changes nothing
    for body in ({"value": "abc"}, {"value": 1.5}, {}):
        bad = await client.put("/admin/settings/MAX_ORDER_RETRIES", headers=admin, json=body)
        assert bad.status_code == 422, (body, bad.text)
    assert (await client.get("/admin/settings/MAX_ORDER_RETRIES", headers=admin)).json()["is_default"] is True
    unknown = await client.put("/admin/settings/NO_SUCH_THING", headers=admin, json={"value": 1})
    assert unknown.status_code == 422  # an unknown key needs its value_type
    assert (await client.get("/admin/settings/NO_SUCH_THING", headers=admin)).status_code == 404

    # the next order sees a change at once, without a restart
    assert (await world.process(await world.incoming(150_000, merchant_order_id="before"))).status == "assigned"
    changed = await client.put("/admin/settings/FRAUD_DENY_AMOUNT", headers=admin, json={"value": {"RUB": "1000.00"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["value"] == {"RUB": "1000.00"}
    assert changed.json()["is_default"] is False
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="after"))
    assert outcome.status == "rejected", outcome

    reset = await client.delete("/admin/settings/FRAUD_DENY_AMOUNT", headers=admin)
    assert reset.status_code == 204
    assert (await client.get("/admin/settings/FRAUD_DENY_AMOUNT", headers=admin)).json()["is_default"] is True
    assert (await world.process(await world.incoming(150_000, merchant_order_id="reset"))).status == "assigned"
    async with world.session_factory() as session:
        entries = (
            await session.scalars(
                select(AuditLogEntry)
                .where(AuditLogEntry.target_type == "configuration_setting")
                .where(AuditLogEntry.target_id == "FRAUD_DENY_AMOUNT")
                .order_by(AuditLogEntry.id)
            )
        ).all()
    assert [e.action for e in entries][-2:] == ["config.set", "config.reset"]


async def test_blocklists(world: World, client: Any, admin: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    added = await client.post("/admin/fraud/blocklists/ips", headers=admin, json={"value": " 203.0.113.7 "})
    assert added.status_code == 200, added.text
    assert added.json() == ["203.0.113.7"]
    again = await client.post("/admin/fraud/blocklists/ips", headers=admin, json={"value": "203.0.113.7"})
    assert again.json() == ["203.0.113.7"]  # idempotent
    await client.post("/admin/fraud/blocklists/card_bins", headers=admin, json={"value": "427616"})
    lists = (await client.get("/admin/fraud/blocklists", headers=admin)).json()
    assert lists == {"card_bins": ["427616"], "client_ids": [], "ips": ["203.0.113.7"]}

    denied = await world.process(await world.incoming(150_000, merchant_order_id="b1", client_ip="203.0.113.7"))
    assert denied.status == "rejected", denied
    assert "ip" in (denied.reason or "")
    removed = await client.delete("/admin/fraud/blocklists/ips/203.0.113.7", headers=admin)
    assert removed.status_code == 204
    allowed = await world.process(await world.incoming(150_000, merchant_order_id="b2", client_ip="203.0.113.7"))
    assert allowed.status == "assigned", allowed

    for kind, value in (("ips", "not-an-ip"), ("card_bins", "12"), ("colors", "red"), ("client_ids", "")):
        response = await client.post(f"/admin/fraud/blocklists/{kind}", headers=admin, json={"value": value})
        assert response.status_code == 422, (kind, value, response.text)
    assert (await client.delete("/admin/fraud/blocklists/ips/203.0.113.8", headers=admin)).status_code == 404


async def test_commissions(world: World, client: Any, admin: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    table = await client.get(f"/admin/stores/{world.store_id}/commissions", headers=admin)
    assert table.status_code == 200, table.text
    assert all(row["is_default"] for row in table.json())
    updated = await client.put(
        f"/admin/stores/{world.store_id}/commissions", headers=admin, json={"direction": "payin", "rate": "0.07"}
    )
    assert updated.status_code == 200, updated.text
    assert {"direction": "payin", "payment_method_id": None, "rate": "0.070000", "is_default": False} in updated.json()
    trader_rate = await client.put(
        f"/admin/traders/{trader}/commissions",
        headers=admin,
        json={"direction": "payin", "rate": "0.02", "payment_method_id": 1},
    )
    assert trader_rate.status_code == 200, trader_rate.text
    assert {"direction": "payin", "payment_method_id": 1, "rate": "0.020000", "is_default": False} in trader_rate.json()

    outcome = await world.process(await world.incoming(150_000, merchant_order_id="c1"))
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, outcome.order_id)
    assert order is not None
    assert (order.store_commission, order.trader_commission) == (Decimal("0.07"), Decimal("0.02"))

    for body in (
        {"direction": "payin", "rate": "1.5"},
        {"direction": "sideways", "rate": "0.1"},
        {"rate": "0.1"},
        {"direction": "payin", "rate": "0.1", "payment_method_id": 999_999},  # not a 409 about a foreign key
    ):
        response = await client.put(f"/admin/stores/{world.store_id}/commissions", headers=admin, json=body)
        assert response.status_code == 422, (body, response.text)
    assert (await client.get("/admin/stores/999999/commissions", headers=admin)).status_code == 404
    assert (await client.get(f"/admin/traders/{world.store_id + 999999}/commissions", headers=admin)).status_code == 404


async def test_admin_override_goes_through_the_status_manager(world: World, client: Any, admin: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="o1"))
    order_id, reference = outcome.order_id, outcome.reference
    no_reason = await client.post(f"/admin/orders/{reference}/status", headers=admin, json={"status": "completed"})
    assert no_reason.status_code == 422
    done = await client.post(
        f"/admin/orders/{reference}/status",
        headers=admin,
        json={"status": "completed", "reason": "bank confirmed by phone"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["order"]["status"] == "completed"
    assert done.json()["history"][-1] == {
        **done.json()["history"][-1],
        "party": "admin",
        "reason": "bank confirmed by phone",
    }
    async with atomic(world.session_factory) as session:
        await posting.settle_completed_order(session, order_id)
    async with world.session_factory() as session:
        hold = (
            await session.scalars(select(Hold).where(Hold.reference == posting.order_hold_reference(order_id)))
        ).one()
    assert hold.status == "captured"
    await assert_ledger_sound(world.session_factory)
    back = await client.post(
        f"/admin/orders/{reference}/status", headers=admin, json={"status": "canceled", "reason": "undo"}
    )
    assert back.status_code == 409  # a final order stays final
    assert (await client.get("/admin/orders", headers=admin, params={"status": "completed"})).json()["data"][0][
        "id"
    ] == reference

    limited = await make_user(world.session_factory, Role.ADMIN, permissions={AdminPermission.MANAGE_SETTINGS})
    headers = bearer(await token_for(client, Role.ADMIN, limited.login))
    refused = await client.post(
        f"/admin/orders/{reference}/status", headers=headers, json={"status": "canceled", "reason": "x"}
    )
    assert refused.status_code == 403


async def test_audit_log_view(world: World, client: Any, admin: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="a1"))
    await client.post(
        f"/admin/orders/{outcome.reference}/status", headers=admin, json={"status": "canceled", "reason": "test"}
    )
    everything = await client.get("/admin/audit", headers=admin, params={"limit": 500})
    assert everything.status_code == 200, everything.text
    rows = everything.json()["data"]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)

    by_target = await client.get(
        "/admin/audit", headers=admin, params={"target_type": "order", "target_id": str(outcome.order_id)}
    )
    actions = [r["action"] for r in by_target.json()["data"]]
    assert actions[0] == "order.status"
    assert "order.assign" in actions
    prefixed = await client.get("/admin/audit", headers=admin, params={"action": "order."})
    assert {r["action"].split(".")[0] for r in prefixed.json()["data"]} == {"order"}
    first = await client.get("/admin/audit", headers=admin, params={"limit": 2})
    assert first.json()["has_more"] is True
    second = await client.get(
        "/admin/audit", headers=admin, params={"limit": 2, "starting_after": first.json()["data"][-1]["id"]}
    )
    assert second.json()["data"][0]["id"] < first.json()["data"][-1]["id"]
    for bad in ({"actor_id": "1"}, {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, {"limit": 0}):
        assert (await client.get("/admin/audit", headers=admin, params=bad)).status_code in (400, 422), bad


async def test_settings_that_could_not_work_are_refused(world: World, client: Any, admin: Any) -> None:
    for key, value in (
        ("FRAUD_BLOCKED_IPS", "notalist"),
        ("DISPUTE_SLA_MINUTES", {"high": 30}),
        ("DISPUTE_SLA_MINUTES", {"high": 30, "normal": 0, "low": 480}),
        ("MAX_ORDER_RETRIES", 10**30),
        ("MAX_ORDER_RETRIES", -1),
        ("RETRY_BACKOFF_FACTOR", "1000"),
        ("FRAUD_DENY_AMOUNT", {"RUB": "abc"}),
        ("CALLBACK_RETRY_SCHEDULE_SECONDS", []),
        ("DEFAULT_STORE_COMMISSION_PAYIN", "1.5"),
    ):
        response = await client.put(f"/admin/settings/{key}", headers=admin, json={"value": value})
        assert response.status_code == 422, (key, value, response.text)
        assert response.json()["error"]["details"]["key"] == key
    assert (await client.get("/admin/fraud/blocklists", headers=admin)).status_code == 200


async def test_reward_share_needs_manage_finances(world: World, client: Any) -> None:
    lead = await make_user(world.session_factory, Role.TEAMLEAD)
    users_only = await make_user(world.session_factory, Role.ADMIN, permissions={AdminPermission.MANAGE_USERS})
    headers = bearer(await token_for(client, Role.ADMIN, users_only.login))
    refused = await client.patch(f"/admin/users/{lead.id}", headers=headers, json={"profile": {"reward_share": "0.9"}})
    assert refused.status_code == 403, refused.text
    named = await client.patch(f"/admin/users/{lead.id}", headers=headers, json={"profile": {"team_name": "North"}})
    assert named.status_code == 200, named.text
