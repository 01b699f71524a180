from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.domain.identity.roles import Role
from tests.factories import PASSWORD, bearer, login, make_user, token_for


async def _pair(client: Any, role: Role, login_name: str) -> dict[str, Any]:
    response = await login(client, role, login_name)
    assert response.status_code == 200
    return dict(response.json())


async def test_refresh_rotates_and_the_old_token_stops_working(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.TRADER)
    first = await _pair(client, Role.TRADER, user.login)
    rotated = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/trader/me", headers=bearer(second["access_token"]))).status_code == 200
    # the next rotation works from the new token
    third = await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_chain(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.MERCHANT)
    first = await _pair(client, Role.MERCHANT, user.login)
    second = (await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    # an attacker replays the first one
    replay = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["error"]["details"]["reason"] == "refresh_reused"
    # the legitimate holder's newer token died with the family
    assert (await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})).status_code == 401
    # other sessions (families) are untouched
    other = await _pair(client, Role.MERCHANT, user.login)
    assert (await client.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})).status_code == 200


async def test_unknown_refresh_token_is_401(client: Any) -> None:
    response = await client.post("/auth/refresh", json={"refresh_token": "nope"})
    assert response.status_code == 401
    assert (await client.post("/auth/refresh", json={})).status_code == 422


async def test_deactivation_kills_access_and_refresh_tokens_at_once(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.SUPPORT)
    admin = await make_user(session_factory, Role.ADMIN)
    pair = await _pair(client, Role.SUPPORT, user.login)
    assert (await client.get("/support/me", headers=bearer(pair["access_token"]))).status_code == 200
    admin_token = await token_for(client, Role.ADMIN, admin.login)
    assert (await client.post(f"/admin/users/{user.id}/deactivate", headers=bearer(admin_token))).status_code == 200
    assert (await client.get("/support/me", headers=bearer(pair["access_token"]))).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 401


async def test_logout_everywhere_and_single_logout(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.TEAMLEAD)
    laptop = await _pair(client, Role.TEAMLEAD, user.login)
    phone = await _pair(client, Role.TEAMLEAD, user.login)
    # single logout revokes that refresh token only
    out = await client.post(
        "/auth/logout", json={"refresh_token": laptop["refresh_token"]}, headers=bearer(laptop["access_token"])
    )
    assert out.status_code == 204
    assert (await client.post("/auth/refresh", json={"refresh_token": laptop["refresh_token"]})).status_code == 401
    # ... and that session's access token stops at once, not when it expires
    after = await client.get("/teamlead/me", headers=bearer(laptop["access_token"]))
    assert after.status_code == 401
    assert after.json()["error"]["details"]["reason"] == "session_ended"
    assert (await client.get("/teamlead/me", headers=bearer(phone["access_token"]))).status_code == 200
    # everywhere: every access and refresh token dies
    out = await client.post("/auth/logout", json={"everywhere": True}, headers=bearer(phone["access_token"]))
    assert out.status_code == 204
    assert (await client.get("/teamlead/me", headers=bearer(phone["access_token"]))).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": phone["refresh_token"]})).status_code == 401


async def test_password_change_enforces_policy_and_logs_out(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.MERCHANT)
    token = await token_for(client, Role.MERCHANT, user.login)
    weak = await client.post(
        "/auth/password", json={"current_password": PASSWORD, "new_password": "lettersonly"}, headers=bearer(token)
    )
    assert weak.status_code == 422
    assert weak.json()["error"]["details"]["rule"] == "digit"
    short = await client.post(
        "/auth/password", json={"current_password": PASSWORD, "new_password": "a1"}, headers=bearer(token)
    )
    assert short.json()["error"]["details"]["rule"] == "min_length"
    wrong = await client.post(
        "/auth/password", json={"current_password": "nope", "new_password": "new-pass-123"}, headers=bearer(token)
    )
    assert wrong.status_code == 422
    ok = await client.post(
        "/auth/password", json={"current_password": PASSWORD, "new_password": "new-pass-123"}, headers=bearer(token)
    )
    assert ok.status_code == 204
    assert (await client.get("/merchant/me", headers=bearer(token))).status_code == 401
    assert (await login(client, Role.MERCHANT, user.login, "new-pass-123")).status_code == 200
    assert (await login(client, Role.MERCHANT, user.login)).status_code == 401


async def test_logout_without_a_refresh_token_ends_the_access_tokens_session(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.TRADER)
    pair = await _pair(client, Role.TRADER, user.login)
    other = await _pair(client, Role.TRADER, user.login)
    assert (await client.post("/auth/logout", headers=bearer(pair["access_token"]))).status_code == 204
    assert (await client.get("/trader/me", headers=bearer(pair["access_token"]))).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 401
    assert (await client.get("/trader/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_refresh_reuse_ends_the_access_tokens_of_the_family_at_once(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.MERCHANT)
    first = await _pair(client, Role.MERCHANT, user.login)
    second = (await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    bystander = await _pair(client, Role.MERCHANT, user.login)
    assert (await client.get("/merchant/me", headers=bearer(second["access_token"]))).status_code == 200
    # the stolen first refresh token is replayed: the whole login ends, access tokens included
    assert (await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).status_code == 401
    for token in (first["access_token"], second["access_token"]):
        response = await client.get("/merchant/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.json()["error"]["details"]["reason"] == "session_ended"
    assert (await client.get("/merchant/me", headers=bearer(bystander["access_token"]))).status_code == 200


async def test_admin_password_reset_ends_the_users_sessions_at_once(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = await make_user(session_factory, Role.SUPPORT)
    admin = await make_user(session_factory, Role.ADMIN)
    pair = await _pair(client, Role.SUPPORT, user.login)
    admin_token = await token_for(client, Role.ADMIN, admin.login)
    reset = await client.post(
        f"/admin/users/{user.id}/password", json={"password": "fresh-pass-42"}, headers=bearer(admin_token)
    )
    assert reset.status_code == 204
    assert (await client.get("/support/me", headers=bearer(pair["access_token"]))).status_code == 401
