"""Configuration settings as the admin manages them (`/admin/settings/*`, MANAGE_SETTINGS)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

import msgspec
from litestar import Request
from litestar.status_codes import HTTP_204_NO_CONTENT

from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import SettingTypeChoice
from jivapay.http.guards import SETTINGS
from jivapay.http.routes import RouteGroup
from jivapay.services.platform import config as config_service

admin_routes = RouteGroup("admin", guards=SETTINGS)


class SettingBody(msgspec.Struct):
    key: str
    value_type: str
    value: Any
    default: Any
    description: str
    is_default: bool
    updated_by: str | None
    updated_at: dt.datetime | None


class SettingWrite(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "value": "500",
        "description": "Disputes of orders above 500 USDT are high priority",
    }

    value: Any  # decimals as strings: a JSON number with a fraction is refused
    value_type: SettingTypeChoice | None = None  # only for a key the platform does not define
    description: str | None = None


def _setting_body(view: config_service.SettingView) -> SettingBody:
    def plain(value: Any) -> Any:
        return str(value) if isinstance(value, Decimal) else value

    return SettingBody(
        view.key,
        view.value_type,
        plain(view.value),
        plain(view.default),
        view.description,
        view.is_default,
        view.updated_by,
        view.updated_at,
    )


@admin_routes.get(
    "/settings",
    operation_id="admin_list_settings",
    description="Every configuration setting: its type, the value in force, the default and who changed it.",
)
async def list_settings() -> list[SettingBody]:
    async with transaction("admin.settings") as session:
        return [_setting_body(v) for v in await config_service.list_settings(session)]


@admin_routes.get("/settings/{setting_key:str}", operation_id="admin_get_setting")
async def get_setting(setting_key: str) -> SettingBody:
    async with transaction("admin.settings") as session:
        return _setting_body(await config_service.get_setting(session, setting_key))


@admin_routes.put(
    "/settings/{setting_key:str}",
    operation_id="admin_set_setting",
    description="Set a value; it is parsed with the setting's type (a bad one is a 422 naming the key) and takes "
    "effect without a restart (every process sees it within a second). Audited with the old and new value.",
)
async def set_setting(request: Request[Any, Any, Any], setting_key: str, data: SettingWrite) -> SettingBody:
    async with transaction("admin.settings") as session:
        await config_service.set_config(
            session,
            setting_key,
            data.value,
            actor=current_principal(request).actor,
            value_type=data.value_type,
            description=data.description,
            ip=client_ip(request),
        )
        return _setting_body(await config_service.get_setting(session, setting_key))


@admin_routes.delete(
    "/settings/{setting_key:str}",
    operation_id="admin_reset_setting",
    status_code=HTTP_204_NO_CONTENT,
    description="Drop the stored value: the default applies again. Audited.",
)
async def reset_setting(request: Request[Any, Any, Any], setting_key: str) -> None:
    async with transaction("admin.settings") as session:
        await config_service.reset_config(
            session, setting_key, actor=current_principal(request).actor, ip=client_ip(request)
        )


route_handlers = [list_settings, get_setting, set_setting, reset_setting]
