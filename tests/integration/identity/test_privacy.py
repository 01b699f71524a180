"""Privacy requests are complete: the walk covers every column tagged ``info=PII`` in the models.

For a merchant and a trader with data in every tagged column (profile, logins from a browser,
sessions, trusted devices, requisites), the export holds every tagged value, and after
anonymizing no tagged column of their rows holds it any more.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import Base
from jivapay.adapters.security import decrypt_secret
from jivapay.domain.identity.roles import Role
from jivapay.settings import get_settings
from tests.factories import bearer, login, make_user, token_for
from tests.fixtures.geoip import build_city_mmdb

AGENT = "AnnaBrowser/7.0 (PrivacyTest)"
IP = "203.0.113.77"
CARD = "4276160000000019"


@pytest.fixture
def geoip(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Logins get a country and city, as in production."""
    db = build_city_mmdb(tmp_path / "city.mmdb", {"203.0.113.0/24": ("NL", "Netherlands", "Amsterdam")})
    settings = get_settings().with_overrides(geoip_db_path=str(db))
    monkeypatch.setattr("jivapay.http.identity.auth.get_settings", lambda: settings)


def tagged_columns() -> list[tuple[type, str, list[str]]]:
    """(model, owner column, tagged columns) for every model with a PII tag."""
    found = []
    for mapper in Base.registry.mappers:
        columns = [c.key for c in mapper.local_table.columns if c.info.get("pii")]
        if columns:
            owner = getattr(mapper.class_, "__pii_owner__", None)
            assert owner, f"{mapper.class_.__name__} tags PII columns but names no __pii_owner__"
            found.append((mapper.class_, owner, columns))
    return found


async def _values(session_factory: async_sessionmaker[AsyncSession], user_id: int) -> dict[str, list[Any]]:
    """``table.column`` → the values in the person's rows."""
    values: dict[str, list[Any]] = {}
    async with session_factory() as session:
        for model, owner, columns in tagged_columns():
            rows = (await session.execute(select(*(getattr(model, c) for c in columns)).where(
                getattr(model, owner) == user_id
            ))).all()  # fmt: skip
            for index, column in enumerate(columns):
                values[f"{model.__tablename__}.{column}"] = [row[index] for row in rows]
    return values


async def _person(client: Any, session_factory: async_sessionmaker[AsyncSession], role: Role) -> int:
    user = await make_user(
        session_factory,
        role,
        email=f"anna.{role.value}@example.com",
        full_name="Anna Example",
        profile={"company_name": "Anna LLC", "contact_phone": "+79161234567"} if role == Role.MERCHANT else {},
    )
    from jivapay.http.app import create_asgi_app

    transport = httpx.ASGITransport(app=create_asgi_app(), client=(IP, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        signed_in = await login(browser, role, user.login, headers={"User-Agent": AGENT})
        assert signed_in.status_code == 200
        token = signed_in.json()["access_token"]
        await login(browser, role, user.login, "wrong-pass-1", headers={"User-Agent": AGENT})
        if role == Role.TRADER:
            made = await browser.post(
                "/trader/requisites",
                headers={**bearer(token), "User-Agent": AGENT},
                json={
                    "type": "card",
                    "bank_id": 1,
                    "payment_method_id": 1,
                    "currency": "RUB",
                    "owner_name": "Anna Example",
                    "number": CARD,
                    "direction": "payin",
                    "limits": {"min_amount": "100.00", "max_amount": "5000.00"},
                },
            )
            assert made.status_code == 201, made.text
    return user.id


async def test_export_holds_and_anonymizing_scrubs_every_tagged_column(
    seeded: None, geoip: None, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    admin = await make_user(session_factory, Role.ADMIN)
    headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    covered: set[str] = set()
    settings = get_settings()
    for role in (Role.MERCHANT, Role.TRADER):
        user_id = await _person(client, session_factory, role)
        before = await _values(session_factory, user_id)
        covered |= {name for name, values in before.items() if any(v is not None for v in values)}

        exported = await client.get(f"/admin/users/{user_id}/export", headers=headers)
        assert exported.status_code == 200
        document = json.dumps(exported.json())
        for name, values in before.items():
            for value in values:
                if value is None or name.endswith("_encrypted"):
                    continue  # ciphertext is not personal data to hand over; its plaintext is (masked)
                assert str(value) in document, f"the export lacks {name}"
        for section in ("profile", "login_history", "sessions", "trusted_devices", "requisites", "orders", "audit"):
            assert section in exported.json()
        assert exported.json()["audit"], "audit entries by or about the person"

        assert (await client.post(f"/admin/users/{user_id}/anonymize", headers=headers)).status_code == 200
        after = await _values(session_factory, user_id)
        for name, values in after.items():
            originals = {str(v) for v in before[name] if v is not None}
            for value in values:
                if value is None:
                    continue
                if name.endswith("_encrypted"):
                    assert decrypt_secret(settings, value) == "anonymized", name
                    continue
                assert str(value) not in originals, f"{name} survived anonymizing"
                for marker in ("Anna", "anna", AGENT, IP, CARD[:6]):
                    assert marker not in str(value), f"{name} still holds {marker!r}"
    every = {f"{model.__tablename__}.{c}" for model, _, columns in tagged_columns() for c in columns}
    assert every <= covered, f"the walk never filled {sorted(every - covered)}: extend _person"
