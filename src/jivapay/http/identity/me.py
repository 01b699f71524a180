"""``GET /<role>/me``: the caller's own account, the same shape for every role."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get

from jivapay.domain.identity.roles import Role
from jivapay.http.deps import current_principal, transaction
from jivapay.services.identity.users import get_user


class MeBody(msgspec.Struct):
    id: int
    login: str
    role: str
    email: str | None
    profile: dict[str, Any]
    permissions: list[str]


def me_handler(role: Role) -> Any:
    @get("/me", operation_id=f"{role.value}_me", tags=[role.value], summary="The caller's account and profile")
    async def me(request: Request[Any, Any, Any]) -> MeBody:
        principal = current_principal(request)
        async with transaction("me") as session:
            view = await get_user(session, principal.user_id)
        return MeBody(
            id=view.user.id,
            login=view.user.login,
            role=view.user.role,
            email=view.user.email,
            profile={k: v for k, v in view.profile.items() if not k.startswith("can_")},
            permissions=sorted(p.value for p in principal.permissions),
        )

    return me
