"""One rule for money precision over the admin API: commissions, exchange rates, reward shares
and commission settings are refused with a 422 naming the field when they do not fit their
column — never rounded — and nothing changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from jivapay.adapters.db.models import ExchangeRate, TeamleadProfile
from jivapay.domain.identity.roles import Role
from tests.factories import bearer, make_user, token_for
from tests.integration.conftest import World


@pytest.fixture
async def admin(world: World, client: Any) -> dict[str, str]:
    user = await make_user(world.session_factory, Role.ADMIN)
    return bearer(await token_for(client, Role.ADMIN, user.login))


def _refused_on(response: Any, field: str) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"]["field"] == field
    assert [e["field"] for e in error["details"]["errors"]] == [field]
    return str(error["details"]["errors"][0]["message"])


@pytest.mark.parametrize(
    ("rate", "says"),
    [
        ("0.0500001", "more than 6 decimal places"),
        ("1", "[0, 1)"),
        ("-0.01", "[0, 1)"),
        (0.05, "str"),  # a JSON number never reaches the rule: the body wants a string
        ("5%", "decimal string"),
    ],
)
async def test_a_commission_that_does_not_fit_is_refused(
    world: World, client: Any, admin: Any, rate: Any, says: str
) -> None:
    url = f"/admin/stores/{world.store_id}/commissions"
    response = await client.put(url, headers=admin, json={"direction": "payin", "rate": rate})
    assert says in _refused_on(response, "rate")
    assert all(row["is_default"] for row in (await client.get(url, headers=admin)).json())
    kept = await client.put(url, headers=admin, json={"direction": "payin", "rate": "0.050000"})
    assert kept.status_code == 200, kept.text


@pytest.mark.parametrize("rate", ["-92.50", "0", "92.123456789", 92.5, "1e12", "NaN"])
async def test_an_exchange_rate_that_does_not_fit_is_refused(world: World, client: Any, admin: Any, rate: Any) -> None:
    response = await client.put("/admin/rates/RUB", headers=admin, json={"rate": rate})
    _refused_on(response, "rate")
    async with world.session_factory() as session:
        assert await session.scalar(select(ExchangeRate.rate).where(ExchangeRate.currency == "RUB")) == Decimal(90)
    kept = await client.put("/admin/rates/RUB", headers=admin, json={"rate": "92.12345678"})
    assert kept.status_code == 200, kept.text
    assert kept.json()["rate"] == "92.12345678"


@pytest.mark.parametrize("share", ["1", "1.0000", "0.12345", "-0.1", 0.1])
async def test_a_reward_share_that_does_not_fit_is_refused(world: World, client: Any, admin: Any, share: Any) -> None:
    lead = await make_user(world.session_factory, Role.TEAMLEAD)
    response = await client.patch(f"/admin/users/{lead.id}", headers=admin, json={"profile": {"reward_share": share}})
    _refused_on(response, "reward_share")
    kept = await client.patch(f"/admin/users/{lead.id}", headers=admin, json={"profile": {"reward_share": "0.9999"}})
    assert kept.status_code == 200, kept.text
    async with world.session_factory() as session:
        stored = await session.scalar(select(TeamleadProfile.reward_share).where(TeamleadProfile.user_id == lead.id))
    assert stored == Decimal("0.9999")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DEFAULT_STORE_COMMISSION_PAYIN", "0.0500001"),
        ("DEFAULT_STORE_COMMISSION_PAYIN", 0.05),
        ("DEFAULT_TRADER_COMMISSION_PAYOUT", "1"),
        ("RATE_MAX_CHANGE", "-0.1"),
        ("WITHDRAWAL_APPROVAL_THRESHOLD_USDT", "1000.0000001"),
    ],
)
async def test_a_money_setting_that_does_not_fit_is_refused(
    world: World, client: Any, admin: Any, key: str, value: Any
) -> None:
    response = await client.put(f"/admin/settings/{key}", headers=admin, json={"value": value})
    _refused_on(response, key)
    assert response.json()["error"]["details"]["key"] == key
    assert (await client.get(f"/admin/settings/{key}", headers=admin)).json()["is_default"] is True
