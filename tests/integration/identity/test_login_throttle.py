"""Password guessing is slowed per account, whatever the IPs; the owner keeps a way in and is told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import LoginAttempt, OutboxMessage
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.email import EmailSender
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.services.identity.login_throttle import ThrottlePolicy, lock_for
from jivapay.services.platform.config import set_config
from jivapay.services.platform.notifications import login_failures_email
from jivapay.settings import get_settings
from tests.factories import PASSWORD, login, make_user

pytestmark = pytest.mark.redis


async def _configure(session_factory: async_sessionmaker[AsyncSession], **values: Any) -> None:
    async with atomic(session_factory) as session:
        for key, value in values.items():
            await set_config(session, key, value, actor=Actor.system("tests"))


def _from_ip(ip: str) -> httpx.AsyncClient:
    from jivapay.http.app import create_asgi_app

    transport = httpx.ASGITransport(app=create_asgi_app(), client=(ip, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def botnet(client: Any) -> AsyncIterator[list[httpx.AsyncClient]]:
    clients = [_from_ip(f"203.0.113.{n}") for n in range(1, 9)]
    yield clients
    for c in clients:
        await c.aclose()


def test_lock_doubles_from_the_threshold_and_is_capped() -> None:
    policy = ThrottlePolicy(threshold=5, window_seconds=900, max_lock_seconds=300)
    assert [lock_for(n, policy) for n in range(1, 16)] == [
        None, None, None, None, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300,
    ]  # fmt: skip
    assert lock_for(10_000, policy) == 300


async def test_many_ips_guessing_one_account_are_slowed_and_the_owner_is_told(
    client: Any, botnet: list[httpx.AsyncClient], session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _configure(session_factory, LOGIN_FAILURE_THRESHOLD=3, LOGIN_LOCK_MAX_SECONDS=60)
    owner = await make_user(session_factory, Role.MERCHANT, email="owner@example.com")
    codes = []
    for attacker in botnet[:3]:  # a new IP for every guess: the per-IP limit never trips
        codes.append((await login(attacker, Role.MERCHANT, owner.login, "guess-123")).status_code)
    assert codes == [401, 401, 401]
    locked = await login(botnet[3], Role.MERCHANT, owner.login, "guess-123")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "login_throttled"
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    # even the right password waits (nothing is hashed while locked), from a fresh IP too
    right = await login(botnet[4], Role.MERCHANT, owner.login)
    assert right.status_code == 429
    async with session_factory() as session:
        reasons = (await session.scalars(select(LoginAttempt.reason).where(LoginAttempt.user_id == owner.id))).all()
        assert sorted(reasons, key=str) == [
            "throttled",
            "throttled",
            "wrong_password",
            "wrong_password",
            "wrong_password",
        ]
        mails = (
            await session.scalars(
                select(OutboxMessage.kwargs).where(OutboxMessage.actor_name == "identity.login_failures_email")
            )
        ).all()
        assert mails == [{"user_id": owner.id}]  # once, when the threshold was reached
        spec = await login_failures_email(session, owner.id)
    assert spec is not None
    assert spec.to == ["owner@example.com"]
    html, text = EmailSender(get_settings()).render(spec.template, spec.context)
    assert "wrong password" in text
    assert "203.0.113.1" in text
    assert "203.0.113.1" in html
    # the lock is short: once it lapses the owner's password works and the count starts over
    await asyncio.sleep(int(locked.headers["retry-after"]) + 0.2)
    assert (await login(botnet[5], Role.MERCHANT, owner.login)).status_code == 200
    assert (await login(botnet[6], Role.MERCHANT, owner.login, "guess-123")).status_code == 401
    assert (await login(botnet[7], Role.MERCHANT, owner.login)).status_code == 200


async def test_a_device_that_signed_in_before_is_not_locked_out(
    client: Any, botnet: list[httpx.AsyncClient], session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _configure(session_factory, LOGIN_FAILURE_THRESHOLD=2, LOGIN_LOCK_MAX_SECONDS=300)
    owner = await make_user(session_factory, Role.TRADER)
    first = await login(client, Role.TRADER, owner.login)
    assert first.status_code == 200
    cookie_name = get_settings().device_cookie_name
    device = first.cookies[cookie_name]
    for attacker in botnet[:4]:
        await login(attacker, Role.TRADER, owner.login, "guess-123")
    assert (await login(botnet[4], Role.TRADER, owner.login, PASSWORD)).status_code == 429
    client.cookies.clear()
    client.cookies.set(cookie_name, device)
    again = await login(client, Role.TRADER, owner.login)
    assert again.status_code == 200, again.text


async def test_unknown_logins_are_throttled_alike(
    client: Any, botnet: list[httpx.AsyncClient], session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """No difference between a login that exists and one that does not (no user enumeration)."""
    await _configure(session_factory, LOGIN_FAILURE_THRESHOLD=2)
    codes = [(await login(c, Role.ADMIN, "nobody-here", "guess-123")).status_code for c in botnet[:3]]
    assert codes == [401, 401, 429]
