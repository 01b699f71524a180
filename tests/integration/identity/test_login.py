from __future__ import annotations

import datetime as dt
import time
from typing import Any

import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import AuditLogEntry, LoginAttempt, User
from jivapay.adapters.security import hash_password
from jivapay.domain.identity.roles import Role
from jivapay.settings import get_settings
from tests.factories import LOGIN_PATHS, PASSWORD, bearer, login, make_user, token_for

ROLES = list(Role)


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_logs_in_only_through_its_own_endpoint(
    role: Role, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, role)
    for endpoint_role in ROLES:
        response = await login(client, endpoint_role, user.login)
        if endpoint_role == role:
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
            assert body["token_type"] == "bearer"
            assert body["expires_in"] == get_settings().access_token_expire_minutes * 60
            me = await client.get(f"/{role.value}/me", headers=bearer(body["access_token"]))
            assert me.status_code == 200
            assert me.json()["login"] == user.login
        else:
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "not_authenticated"


async def test_unknown_login_and_wrong_password_answer_the_same(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.MERCHANT)
    timings: dict[str, list[float]] = {"wrong": [], "unknown": []}
    bodies = {}
    for _ in range(5):
        for case, name in (("wrong", user.login), ("unknown", "nobody-here")):
            started = time.perf_counter()
            response = await login(client, Role.MERCHANT, name, "not-the-password-1")
            timings[case].append(time.perf_counter() - started)
            assert response.status_code == 401
            bodies[case] = response.json()["error"]
    assert bodies["wrong"] == bodies["unknown"]
    # both paths run one argon2 verification: medians within a generous factor
    wrong, unknown = sorted(timings["wrong"])[2], sorted(timings["unknown"])[2]
    assert 0.33 < wrong / unknown < 3


async def test_every_attempt_is_recorded_with_its_reason(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.TRADER)
    await login(client, Role.TRADER, user.login, "wrong-password-1", headers={"User-Agent": "pytest-agent"})
    await login(client, Role.MERCHANT, user.login)
    await login(client, Role.TRADER, "ghost")
    await login(client, Role.TRADER, user.login)
    async with session_factory() as session:
        attempts = (await session.scalars(select(LoginAttempt).order_by(LoginAttempt.id))).all()
        audit = (await session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "auth.login"))).all()
    assert [(a.success, a.reason) for a in attempts] == [
        (False, "wrong_password"),
        (False, "wrong_role"),
        (False, "unknown_login"),
        (True, None),
    ]
    assert attempts[0].user_agent == "pytest-agent"
    assert attempts[2].user_id is None
    assert len(audit) == 1


async def test_inactive_user_cannot_log_in(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> None:
    user = await make_user(session_factory, Role.SUPPORT)
    admin = await make_user(session_factory, Role.ADMIN)
    token = await token_for(client, Role.ADMIN, admin.login)
    assert (await client.post(f"/admin/users/{user.id}/deactivate", headers=bearer(token))).status_code == 200
    response = await login(client, Role.SUPPORT, user.login)
    assert response.status_code == 401


async def test_login_upgrades_a_hash_made_with_weaker_parameters(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.MERCHANT)
    weaker = get_settings().with_overrides(argon2_memory_kib=19456, argon2_time_cost=2, argon2_parallelism=2)
    async with session_factory() as session, session.begin():
        row = await session.get(User, user.id)
        assert row is not None
        row.password_hash = hash_password(weaker, PASSWORD)
    assert (await login(client, Role.MERCHANT, user.login)).status_code == 200
    async with session_factory() as session:
        row = await session.get(User, user.id)
    assert row is not None
    assert "p=1" in row.password_hash  # rehashed with the configured parameters
    assert row.password_hash.startswith("$argon2id$")


async def test_bad_login_body_is_a_422(client: Any) -> None:
    response = await client.post(LOGIN_PATHS[Role.SUPPORT], json={"login": "x"})
    assert response.status_code == 422
    response = await client.post(LOGIN_PATHS[Role.MERCHANT], data={"username": "x"})
    assert response.status_code in (400, 422)


def _forge(claims: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    settings = get_settings()
    now = dt.datetime.now(dt.UTC)
    base = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
        "ver": 0,
        "role": "admin",
    }
    return jwt.encode({**base, **claims}, key or settings.secret_key, algorithm=algorithm)


async def test_bad_tokens_are_rejected(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> None:
    admin = await make_user(session_factory, Role.ADMIN)
    sub = str(admin.id)
    real = await token_for(client, Role.ADMIN, admin.login)
    sid = jwt.decode(real, options={"verify_signature": False})["sid"]  # a live login session
    good = _forge({"sub": sub, "sid": sid})
    assert (await client.get("/admin/me", headers=bearer(good))).status_code == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    cases = {
        "expired": _forge({"sub": sub, "exp": past, "iat": past - dt.timedelta(minutes=5)}),
        "forged": _forge({"sub": sub}, key="another-secret-key-0123456789abcdef"),
        "wrong_audience": _forge({"sub": sub, "aud": "someone-else"}),
        "wrong_issuer": _forge({"sub": sub, "iss": "evil"}),
        "alg_none": jwt.encode({"sub": sub, "role": "admin", "ver": 0}, None, algorithm="none"),
        "other_hs_alg": _forge({"sub": sub}, algorithm="HS512"),
        "old_version": _forge({"sub": sub, "ver": 7, "sid": sid}),
        "role_mismatch": _forge({"sub": sub, "role": "merchant", "sid": sid}),
        "no_session": _forge({"sub": sub}),
        "unknown_session": _forge({"sub": sub, "sid": "00000000-0000-4000-8000-000000000000"}),
        "bad_session": _forge({"sub": sub, "sid": "nope"}),
        "garbage": "not.a.token",
    }
    for name, token in cases.items():
        response = await client.get("/admin/me", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == "not_authenticated", name
    assert (await client.get("/admin/me")).status_code == 401
    assert (await client.get("/admin/me", headers={"Authorization": "Basic abc"})).status_code == 401
