"""Login per role, token refresh, logout, password change."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from jivapay.domain.errors import LoginThrottled, NotAuthenticated
from jivapay.domain.identity.roles import Role
from jivapay.http.deps import client_info, current_principal, transaction
from jivapay.http.guards import require_user
from jivapay.http.routes import RouteGroup
from jivapay.services.identity import auth as auth_service
from jivapay.services.identity.auth import INVALID_CREDENTIALS, LoginResult
from jivapay.settings import get_settings

auth_routes = RouteGroup("auth")


class PasswordForm(msgspec.Struct):
    """OAuth2 password grant (application/x-www-form-urlencoded)."""

    EXAMPLE: ClassVar[dict[str, Any]] = {"username": "coffee-shop", "password": "brew-2026-beans"}

    username: str
    password: str
    grant_type: str | None = None
    scope: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


class JsonLogin(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"login": "support.anna", "password": "brew-2026-beans"}

    login: str
    password: str


class TokenBody(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str


class RefreshBody(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"refresh_token": "q7Vb2rN0xLm4Tz9WcK1sHd8Pf3Yg6Ju5Ea0Oi2Rn7Uk"}

    refresh_token: str


class LogoutBody(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "refresh_token": "q7Vb2rN0xLm4Tz9WcK1sHd8Pf3Yg6Ju5Ea0Oi2Rn7Uk",
        "everywhere": False,
    }

    refresh_token: str | None = None
    everywhere: bool = False


class PasswordChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"current_password": "brew-2026-beans", "new_password": "roast-2027-dark"}

    current_password: str
    new_password: str


FormBody = Annotated[PasswordForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


async def _login(request: Request[Any, Any, Any], role: Role, login_name: str, password: str) -> Response[TokenBody]:
    settings = get_settings()
    async with transaction("auth.login") as session:
        result: LoginResult = await auth_service.login(
            session,
            settings,
            role=role,
            login_name=login_name,
            password=password,
            client=client_info(request, settings.device_cookie_name),
        )
    if result.reason == "throttled":
        raise LoginThrottled(retry_after=result.retry_after or 1)
    if result.tokens is None:
        raise NotAuthenticated(INVALID_CREDENTIALS, reason="invalid_credentials")
    cookies = []
    if result.set_device_token:
        cookies.append(
            Cookie(
                key=settings.device_cookie_name,
                value=result.set_device_token,
                max_age=settings.device_cookie_max_age_seconds,
                httponly=True,
                secure=settings.is_production,
                samesite="lax",
                path="/",
            )
        )
    tokens = result.tokens
    return Response(
        TokenBody(tokens.access_token, tokens.token_type, tokens.expires_in, tokens.refresh_token),
        status_code=HTTP_200_OK,
        cookies=cookies,
        headers={"Cache-Control": "no-store"},
    )


def _form_login(role: Role, path: str) -> Any:
    @auth_routes.post(
        path,
        operation_id=f"{role.value}_login",
        summary=f"Log in as a {role.value} (OAuth2 password form)",
        status_code=HTTP_200_OK,
    )
    async def handler(request: Request[Any, Any, Any], data: FormBody) -> Response[TokenBody]:
        return await _login(request, role, data.username, data.password)

    handler.fn.__name__ = f"{role.value}_login"
    return handler


merchant_login = _form_login(Role.MERCHANT, "/merchant/auth/token")
trader_login = _form_login(Role.TRADER, "/trader/auth/token")
teamlead_login = _form_login(Role.TEAMLEAD, "/teamlead/auth/token")
admin_login = _form_login(Role.ADMIN, "/admin/auth/token")


@auth_routes.post(
    "/support/auth/login", operation_id="support_login", summary="Log in as support (JSON)", status_code=HTTP_200_OK
)
async def support_login(request: Request[Any, Any, Any], data: JsonLogin) -> Response[TokenBody]:
    return await _login(request, Role.SUPPORT, data.login, data.password)


@auth_routes.post(
    "/auth/refresh",
    operation_id="refresh_token",
    status_code=HTTP_200_OK,
    summary="Exchange a refresh token for a new pair (the old one stops working)",
)
async def refresh_token(request: Request[Any, Any, Any], data: RefreshBody) -> Response[TokenBody]:
    async with transaction("auth.refresh") as session:
        result = await auth_service.refresh(
            session, get_settings(), refresh_token=data.refresh_token, client=client_info(request)
        )
    if result.tokens is None:
        raise NotAuthenticated("The refresh token is not valid", reason=f"refresh_{result.reason}")
    tokens = result.tokens
    return Response(
        TokenBody(tokens.access_token, tokens.token_type, tokens.expires_in, tokens.refresh_token),
        headers={"Cache-Control": "no-store"},
    )


@auth_routes.post(
    "/auth/logout",
    operation_id="logout",
    guards=[require_user],
    status_code=HTTP_204_NO_CONTENT,
    summary="Revoke a refresh token, or every token of the caller with everywhere=true",
)
async def logout(request: Request[Any, Any, Any], data: LogoutBody) -> None:
    async with transaction("auth.logout") as session:
        await auth_service.logout(
            session,
            current_principal(request),
            refresh_token=data.refresh_token,
            everywhere=data.everywhere,
            ip=client_info(request).ip,
        )


@auth_routes.post(
    "/auth/password",
    operation_id="change_password",
    guards=[require_user],
    status_code=HTTP_204_NO_CONTENT,
    summary="Change the caller's password (logs out every session)",
)
async def change_password(request: Request[Any, Any, Any], data: PasswordChangeBody) -> None:
    async with transaction("auth.password") as session:
        await auth_service.change_password(
            session,
            get_settings(),
            current_principal(request),
            current=data.current_password,
            new=data.new_password,
            ip=client_info(request).ip,
        )


route_handlers = [
    merchant_login,
    trader_login,
    teamlead_login,
    admin_login,
    support_login,
    refresh_token,
    logout,
    change_password,
]
