"""Admins cannot escalate: every admin route that acts on a user × permission set × target kind.

The rule (services/identity/users.authorize): acting on an admin needs manage_permissions and every
flag the target holds; granted flags are flags the caller holds; a trader's team and a
teamlead's share need manage_finances; the last active admin holding every flag stays.
The routes come from the app's route list, so a new route on a user fails here until it is
given a request below.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import TraderProfile
from jivapay.domain.identity.roles import ALL_ADMIN_PERMISSIONS, AdminPermission, Role
from jivapay.http.app import create_app
from tests.factories import bearer, make_user, token_for

P = AdminPermission
PERMISSION_SETS: dict[str, frozenset[AdminPermission]] = {
    "users": frozenset({P.MANAGE_USERS}),
    "permissions": frozenset({P.MANAGE_PERMISSIONS}),
    "users+permissions": frozenset({P.MANAGE_USERS, P.MANAGE_PERMISSIONS}),
    "users+permissions+finances": frozenset({P.MANAGE_USERS, P.MANAGE_PERMISSIONS, P.MANAGE_FINANCES}),
    "all": ALL_ADMIN_PERMISSIONS,
}
TARGETS = ("self", "weaker_admin", "stronger_admin", "non_admin")
READS = {("GET", "/admin/users/{user_id:int}"), ("GET", "/admin/users/{user_id:int}/logins")}


def _body(method: str, path: str, caller: frozenset[AdminPermission]) -> dict[str, Any] | None:
    bodies: dict[tuple[str, str], dict[str, Any] | None] = {
        ("GET", "/admin/users/{user_id:int}"): None,
        ("PATCH", "/admin/users/{user_id:int}"): {"full_name": "Renamed"},
        ("POST", "/admin/users/{user_id:int}/deactivate"): None,
        ("POST", "/admin/users/{user_id:int}/password"): {"password": "fresh-pass-42"},
        ("PUT", "/admin/users/{user_id:int}/permissions"): {"permissions": sorted(caller)},
        ("GET", "/admin/users/{user_id:int}/logins"): None,
        ("GET", "/admin/users/{user_id:int}/export"): None,
        ("POST", "/admin/users/{user_id:int}/anonymize"): None,
    }
    return bodies[(method, path)]


def user_routes() -> list[tuple[str, str]]:
    routes = []
    for route in create_app().routes:
        if route.path.startswith("/admin/users/{user_id"):
            routes += [(m, route.path) for m in sorted(route.methods - {"OPTIONS", "HEAD"})]
    return routes


def expected(method: str, path: str, caller: frozenset[AdminPermission], target: str) -> int:
    """The status the rule gives: 2xx allowed, 403 refused, 422 nonsense (flags of a non-admin)."""
    needed = P.MANAGE_PERMISSIONS if path.endswith("/permissions") else P.MANAGE_USERS
    if needed not in caller:
        return 403
    if (method, path) in READS:
        return 200
    if target == "non_admin":
        return 422 if path.endswith("/permissions") else 200
    if P.MANAGE_PERMISSIONS not in caller:
        return 403
    if target == "stronger_admin" and caller != ALL_ADMIN_PERMISSIONS:
        return 403
    return 200


def target_flags(caller: frozenset[AdminPermission], kind: str) -> frozenset[AdminPermission]:
    if kind == "stronger_admin":
        return ALL_ADMIN_PERMISSIONS
    return frozenset(sorted(caller)[1:])  # weaker: one flag fewer than the caller


def test_every_admin_user_route_is_covered() -> None:
    for method, path in user_routes():
        _body(method, path, frozenset())  # KeyError: a new route needs a case above


@pytest.mark.parametrize("perm_name", list(PERMISSION_SETS))
async def test_admin_user_routes_by_permission_set_and_target(
    perm_name: str, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    caller = PERMISSION_SETS[perm_name]
    await make_user(session_factory, Role.ADMIN)  # another full admin: the lock-out rule is tested apart
    failures = []
    for method, path in user_routes():
        for kind in TARGETS:
            actor = await make_user(session_factory, Role.ADMIN, permissions=caller)
            if kind == "self":
                target_id = actor.id
            elif kind == "non_admin":
                target_id = (await make_user(session_factory, Role.TRADER)).id
            else:
                target_id = (await make_user(session_factory, Role.ADMIN, permissions=target_flags(caller, kind))).id
            token = await token_for(client, Role.ADMIN, actor.login)
            url = path.replace("{user_id:int}", str(target_id))
            body = _body(method, path, caller)
            response = await client.request(
                method, url, headers=bearer(token), **({"json": body} if body is not None else {})
            )
            want = expected(method, path, caller, kind)
            got = response.status_code
            ok = (200 <= got < 300) if want == 200 else got == want
            if not ok:
                failures.append(f"{method} {path} as {perm_name} on {kind}: {got} (want {want}) {response.text[:160]}")
            if got in (403, 422):
                assert response.json()["error"]["code"] in ("permission_denied", "validation_failed")
    assert not failures, "\n".join(failures)


async def test_user_admin_cannot_take_over_a_full_admin(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The reported path: reset the stronger admin's password, log in as them, grant everything."""
    boss = await make_user(session_factory, Role.ADMIN)
    clerk = await make_user(session_factory, Role.ADMIN, permissions={P.MANAGE_USERS})
    token = await token_for(client, Role.ADMIN, clerk.login)
    reset = await client.post(
        f"/admin/users/{boss.id}/password", json={"password": "hijack-123"}, headers=bearer(token)
    )
    assert reset.status_code == 403
    assert reset.json()["error"]["details"]["required_permission"] == "manage_permissions"
    grant = await client.put(
        f"/admin/users/{clerk.id}/permissions", json={"permissions": [p.value for p in P]}, headers=bearer(token)
    )
    assert grant.status_code == 403
    # with manage_permissions it still grants only what it holds
    lead = await make_user(session_factory, Role.ADMIN, permissions={P.MANAGE_USERS, P.MANAGE_PERMISSIONS})
    lead_token = await token_for(client, Role.ADMIN, lead.login)
    more = await client.put(
        f"/admin/users/{lead.id}/permissions",
        json={"permissions": ["manage_users", "manage_permissions", "manage_finances"]},
        headers=bearer(lead_token),
    )
    assert more.status_code == 403
    assert more.json()["error"]["details"]["permissions"] == ["manage_finances"]
    created = await client.post(
        "/admin/users",
        json={"login": "mole1", "password": "mole-pass-42", "role": "admin", "permissions": ["manage_settings"]},
        headers=bearer(lead_token),
    )
    assert created.status_code == 403
    stronger = await client.post(f"/admin/users/{boss.id}/deactivate", headers=bearer(lead_token))
    assert stronger.status_code == 403
    assert stronger.json()["error"]["details"]["reason"] == "target_more_privileged"


async def test_moving_a_trader_between_teams_needs_manage_finances(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    team_a = await make_user(session_factory, Role.TEAMLEAD)
    team_b = await make_user(session_factory, Role.TEAMLEAD)
    trader = await make_user(session_factory, Role.TRADER, profile={"teamlead_id": team_a.id})
    clerk = await make_user(session_factory, Role.ADMIN, permissions={P.MANAGE_USERS, P.MANAGE_PERMISSIONS})
    finance = await make_user(session_factory, Role.ADMIN, permissions={P.MANAGE_USERS, P.MANAGE_FINANCES})
    move = {"profile": {"teamlead_id": team_b.id}}
    refused = await client.patch(
        f"/admin/users/{trader.id}", json=move, headers=bearer(await token_for(client, Role.ADMIN, clerk.login))
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["required_permission"] == "manage_finances"
    new_trader = await client.post(
        "/admin/users",
        json={"login": "newbie", "password": "newbie-pass-1", "role": "trader", "profile": {"teamlead_id": team_b.id}},
        headers=bearer(await token_for(client, Role.ADMIN, clerk.login)),
    )
    assert new_trader.status_code == 403
    async with session_factory() as session:
        assert (await session.scalar(select(TraderProfile.teamlead_id).where(TraderProfile.user_id == trader.id))) == (
            team_a.id
        )
    moved = await client.patch(
        f"/admin/users/{trader.id}", json=move, headers=bearer(await token_for(client, Role.ADMIN, finance.login))
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["profile"]["teamlead_id"] == team_b.id


async def test_the_last_full_admin_cannot_be_taken_away(
    client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = await make_user(session_factory, Role.ADMIN)
    token = await token_for(client, Role.ADMIN, first.login)
    for method, suffix, body in (
        ("POST", "/deactivate", None),
        ("POST", "/anonymize", None),
        ("PATCH", "", {"is_active": False}),
        ("PUT", "/permissions", {"permissions": ["manage_users", "manage_permissions"]}),
    ):
        response = await client.request(
            method, f"/admin/users/{first.id}{suffix}", headers=bearer(token), **({"json": body} if body else {})
        )
        assert response.status_code == 409, (suffix, response.text)
        assert response.json()["error"]["details"]["reason"] == "last_full_admin"
    # a second full admin: one of them may go, not both
    second = await make_user(session_factory, Role.ADMIN)
    assert (await client.post(f"/admin/users/{second.id}/deactivate", headers=bearer(token))).status_code == 200
    assert (await client.post(f"/admin/users/{first.id}/deactivate", headers=bearer(token))).status_code == 409
    assert (await client.get("/admin/me", headers=bearer(token))).status_code == 200
