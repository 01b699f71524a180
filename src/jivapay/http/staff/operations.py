"""Admin operations: orders (search, case, status override), configuration settings, fraud
blocklists, commissions, and the audit log. Each route needs its permission flag."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post, put
from litestar.params import Parameter, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from jivapay.domain.identity.roles import AdminPermission
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import AuditFilter
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.guards import require_permission
from jivapay.http.orders.staff_orders import OrderCaseBody, case_body, order_handlers
from jivapay.services.ledger import commissions, owners, posting
from jivapay.services.ledger.commissions import CommissionOwner
from jivapay.services.orders import fraud
from jivapay.services.orders import refs as order_refs
from jivapay.services.platform import audit_view
from jivapay.services.platform import config as config_service

FINANCES = [require_permission(AdminPermission.MANAGE_FINANCES)]
SETTINGS = [require_permission(AdminPermission.MANAGE_SETTINGS)]
USERS = [require_permission(AdminPermission.MANAGE_USERS)]


# --- configuration settings -----------------------------------------------------------------


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
    value: Any  # decimals as strings: a JSON number with a fraction is refused
    value_type: str | None = None  # only for a key the platform does not define
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


@get(
    "/settings",
    operation_id="admin_list_settings",
    tags=["admin"],
    guards=SETTINGS,
    description="Every configuration setting: its type, the value in force, the default and who changed it.",
)
async def list_settings() -> list[SettingBody]:
    async with transaction("admin.settings") as session:
        return [_setting_body(v) for v in await config_service.list_settings(session)]


@get("/settings/{setting_key:str}", operation_id="admin_get_setting", tags=["admin"], guards=SETTINGS)
async def get_setting(setting_key: str) -> SettingBody:
    async with transaction("admin.settings") as session:
        return _setting_body(await config_service.get_setting(session, setting_key))


@put(
    "/settings/{setting_key:str}",
    operation_id="admin_set_setting",
    tags=["admin"],
    guards=SETTINGS,
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


@delete(
    "/settings/{setting_key:str}",
    operation_id="admin_reset_setting",
    tags=["admin"],
    guards=SETTINGS,
    status_code=HTTP_204_NO_CONTENT,
    description="Drop the stored value: the default applies again. Audited.",
)
async def reset_setting(request: Request[Any, Any, Any], setting_key: str) -> None:
    async with transaction("admin.settings") as session:
        await config_service.reset_config(
            session, setting_key, actor=current_principal(request).actor, ip=client_ip(request)
        )


# --- fraud blocklists -----------------------------------------------------------------------


class BlocklistEntry(msgspec.Struct, forbid_unknown_fields=True):
    value: str


@get(
    "/fraud/blocklists",
    operation_id="admin_list_blocklists",
    tags=["admin"],
    guards=SETTINGS,
    description="Client ids, client IPs and card BINs whose orders are always denied.",
)
async def list_blocklists() -> dict[str, list[str]]:
    async with transaction("admin.blocklists") as session:
        return await fraud.blocklists(session)


@post(
    "/fraud/blocklists/{kind:str}",
    operation_id="admin_add_to_blocklist",
    tags=["admin"],
    guards=SETTINGS,
    status_code=200,
    description="Add a value to `client_ids`, `ips` or `card_bins` (6-8 digits); the next order is checked "
    "against it. Adding one already there changes nothing.",
)
async def add_to_blocklist(request: Request[Any, Any, Any], kind: str, data: BlocklistEntry) -> list[str]:
    async with transaction("admin.blocklists") as session:
        return await fraud.change_blocklist(
            session, kind, data.value, add=True, actor=current_principal(request).actor, ip=client_ip(request)
        )


@delete(
    "/fraud/blocklists/{kind:str}/{value:str}",
    operation_id="admin_remove_from_blocklist",
    tags=["admin"],
    guards=SETTINGS,
    status_code=HTTP_204_NO_CONTENT,
)
async def remove_from_blocklist(request: Request[Any, Any, Any], kind: str, value: str) -> None:
    async with transaction("admin.blocklists") as session:
        await fraud.change_blocklist(
            session, kind, value, add=False, actor=current_principal(request).actor, ip=client_ip(request)
        )


# --- commissions ----------------------------------------------------------------------------


class AdminCommissionRow(msgspec.Struct):
    direction: str
    payment_method_id: int | None
    rate: str
    is_default: bool


class CommissionWrite(msgspec.Struct, forbid_unknown_fields=True):
    direction: str
    rate: str  # a fraction as a decimal string: "0.045" = 4.5 %
    payment_method_id: int | None = None  # None: for every method without its own rate


def _rows(table: list[tuple[str, int | None, Decimal, bool]]) -> list[AdminCommissionRow]:
    return [AdminCommissionRow(d, pm, str(rate), default) for d, pm, rate, default in table]


async def _set_commission(
    request: Request[Any, Any, Any], owner: CommissionOwner, owner_id: int, data: CommissionWrite
) -> list[AdminCommissionRow]:
    """Set one rate of a store or a trader; the owner's whole table after it."""
    async with transaction("admin.commissions") as session:
        await owners.check_owner(session, owner, owner_id)
        await commissions.set_commission(
            session,
            current_principal(request).actor,
            owner=owner,
            owner_id=owner_id,
            direction=data.direction,
            rate=data.rate,
            payment_method_id=data.payment_method_id,
            ip=client_ip(request),
        )
        return _rows(await commissions.commission_table(session, owner, owner_id))


@get("/stores/{store_id:int}/commissions", operation_id="admin_store_commissions", tags=["admin"], guards=FINANCES)
async def store_commissions(store_id: int) -> list[AdminCommissionRow]:
    async with transaction("admin.commissions") as session:
        await owners.check_owner(session, "store", store_id)
        return _rows(await commissions.commission_table(session, "store", store_id))


@put(
    "/stores/{store_id:int}/commissions",
    operation_id="admin_set_store_commission",
    tags=["admin"],
    guards=FINANCES,
    description="What the platform takes from the store's orders, per direction and optionally per payment "
    "method. New orders use it at once; assigned orders keep the rate they were created with.",
)
async def set_store_commission(
    request: Request[Any, Any, Any], store_id: int, data: CommissionWrite
) -> list[AdminCommissionRow]:
    return await _set_commission(request, "store", store_id, data)


@get("/traders/{trader_id:int}/commissions", operation_id="admin_trader_commissions", tags=["admin"], guards=FINANCES)
async def trader_commissions(trader_id: int) -> list[AdminCommissionRow]:
    async with transaction("admin.commissions") as session:
        await owners.check_owner(session, "trader", trader_id)
        return _rows(await commissions.commission_table(session, "trader", trader_id))


@put(
    "/traders/{trader_id:int}/commissions",
    operation_id="admin_set_trader_commission",
    tags=["admin"],
    guards=FINANCES,
    description="What the trader earns on their orders, per direction and optionally per payment method.",
)
async def set_trader_commission(
    request: Request[Any, Any, Any], trader_id: int, data: CommissionWrite
) -> list[AdminCommissionRow]:
    return await _set_commission(request, "trader", trader_id, data)


# --- the audit log --------------------------------------------------------------------------


class AuditBody(msgspec.Struct):
    id: int
    at: dt.datetime
    actor_type: str
    actor_id: str | None
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    ip: str | None


class AuditPage(msgspec.Struct):
    data: list[AuditBody]
    has_more: bool


@get(
    "/audit",
    operation_id="admin_audit_log",
    tags=["admin"],
    guards=USERS,
    description="Who did what to what, newest first. Filter by actor (`actor_type`, `actor_id`), `action` (exact, "
    "or a prefix ending in `.`: `order.`), target (`target_type`, `target_id`) and time [`from`, `to`). Pass the "
    "last id as `starting_after` for the next page.",
)
async def audit_log(
    actor_type: str | None = Parameter(default=None, max_length=32),
    actor_id: str | None = Parameter(default=None, max_length=64),
    action: str | None = Parameter(default=None, max_length=64),
    target_type: str | None = Parameter(default=None, max_length=64),
    target_id: str | None = Parameter(default=None, max_length=64),
    created_from: Annotated[dt.datetime | None, QueryParameter(name="from")] = None,
    created_to: Annotated[dt.datetime | None, QueryParameter(name="to")] = None,
    starting_after: int | None = Parameter(default=None, ge=1, le=2**63 - 1),
    limit: int = Parameter(default=50, ge=1, le=500),
) -> AuditPage:
    f = AuditFilter(actor_type, actor_id, action, target_type, target_id, created_from, created_to)
    async with transaction("admin.audit") as session:
        rows = await audit_view.entries(session, f, starting_after=starting_after, limit=limit + 1)
    data = [
        AuditBody(
            r.id,
            r.created_at,
            r.actor_type,
            r.actor_id,
            r.action,
            r.target_type,
            r.target_id,
            r.details or {},
            str(r.ip) if r.ip else None,
        )
        for r in rows[:limit]
    ]
    return AuditPage(data, len(rows) > limit)


class SettlementRetry(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


@post(
    "/orders/{order_id:str}/settle",
    operation_id="admin_retry_settlement",
    tags=["admin"],
    guards=FINANCES,
    status_code=200,
    summary="Settle a completed order again after its settlement failed",
    description="For an order listed by `settlement_failed=true` once the cause is fixed (e.g. its hold restored by "
    "a ledger adjustment): clears `settlement_error` and queues the settlement, which is idempotent and "
    "again refuses to run without the order's active hold. A written reason is required; audited. 409 "
    "when the order is not completed or is settled already.",
)
async def retry_settlement(request: Request[Any, Any, Any], order_id: str, data: SettlementRetry) -> OrderCaseBody:
    async with transaction("admin.settle") as session:
        internal_id = await order_refs.staff_order_id(session, order_id)
        await posting.retry_settlement(
            session, internal_id, reason=data.reason, actor=current_principal(request).actor, ip=client_ip(request)
        )
    return await case_body(internal_id)


route_handlers = [
    *order_handlers("admin", Party.ADMIN, guards=FINANCES),
    retry_settlement,
    list_settings,
    get_setting,
    set_setting,
    reset_setting,
    list_blocklists,
    add_to_blocklist,
    remove_from_blocklist,
    store_commissions,
    set_store_commission,
    trader_commissions,
    set_trader_commission,
    audit_log,
]
