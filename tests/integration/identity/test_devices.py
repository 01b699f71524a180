"""Login history with GeoIP, the trusted-device cookie, and the new-device e-mail end to end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import LoginAttempt, TrustedDevice
from jivapay.domain.identity.roles import Role
from jivapay.settings import get_settings
from jivapay.worker.broker import broker
from jivapay.worker.relay import relay_pending
from tests.factories import login, make_user
from tests.fixtures.geoip import build_city_mmdb
from tests.fixtures.smtp import SMTPReceiver


@pytest.fixture
def smtp() -> Iterator[SMTPReceiver]:
    receiver = SMTPReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def configured(tmp_path: Path, smtp: SMTPReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """GeoIP database and SMTP server switched on for the API and the worker."""
    db = build_city_mmdb(tmp_path / "city.mmdb", {"81.2.69.0/24": ("GB", "United Kingdom", "London")})
    settings = get_settings().with_overrides(
        geoip_db_path=str(db), smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls="false"
    )
    monkeypatch.setattr("jivapay.http.identity.auth.get_settings", lambda: settings)
    monkeypatch.setattr("jivapay.adapters.resources.get_settings", lambda: settings)


async def test_login_from_a_new_device_records_location_sets_cookie_and_emails(
    configured: None,
    client: Any,
    session_factory: async_sessionmaker[AsyncSession],
    worker: Any,
    smtp: SMTPReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await make_user(session_factory, Role.MERCHANT, email="anna@example.com")
    monkeypatch.setattr("jivapay.http.deps.client_ip", lambda _: "81.2.69.142")
    first = await login(client, Role.MERCHANT, user.login, headers={"User-Agent": "Firefox/130"})
    assert first.status_code == 200
    cookie = first.cookies.get(get_settings().device_cookie_name)
    assert cookie
    assert "httponly" in first.headers["set-cookie"].lower()

    await relay_pending(session_factory, broker, batch_size=10)
    [message] = await asyncio.to_thread(smtp.wait_for, 1, 10)
    assert message["To"] == "anna@example.com"
    body = message.get_body(("plain",))
    assert body is not None
    assert "London, United Kingdom" in body.get_content()
    assert "Firefox/130" in body.get_content()

    # the same device again: no new e-mail, the device is touched
    client.cookies.set(get_settings().device_cookie_name, cookie)
    second = await login(client, Role.MERCHANT, user.login, headers={"User-Agent": "Firefox/130"})
    assert second.status_code == 200
    await relay_pending(session_factory, broker, batch_size=10)
    await asyncio.sleep(0.5)
    assert len(smtp.messages) == 1

    async with session_factory() as session:
        attempts = (await session.scalars(select(LoginAttempt).order_by(LoginAttempt.id))).all()
        devices = (await session.scalars(select(TrustedDevice))).all()
    assert [(a.new_device, a.country_code, a.city) for a in attempts] == [
        (True, "GB", "London"),
        (False, "GB", "London"),
    ]
    assert len(devices) == 1
    assert cookie not in devices[0].token_hash


async def test_user_without_email_gets_no_message(
    configured: None, client: Any, session_factory: async_sessionmaker[AsyncSession], smtp: SMTPReceiver
) -> None:
    user = await make_user(session_factory, Role.TRADER)
    assert (await login(client, Role.TRADER, user.login)).status_code == 200
    result = await relay_pending(session_factory, broker, batch_size=10)
    assert result.sent == 0
    assert smtp.messages == []
