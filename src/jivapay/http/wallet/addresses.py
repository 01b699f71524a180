"""Deposit addresses: traders, teamleads and merchants (per store) ask for one per network."""

from __future__ import annotations

import enum
import io
from typing import Any, ClassVar

import msgspec
import segno
from litestar import Request, Response, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from jivapay.domain.platform.audit import Actor
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import DecimalText, NetworkInPath, NetworkName
from jivapay.http.wallet import wallet_owner
from jivapay.services.wallet import addresses
from jivapay.services.wallet.addresses import DepositAddress


class QrFormat(enum.StrEnum):
    SVG = "svg"
    PNG = "png"


class NewDepositAddress(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"network": "TRC20"}

    # TRC20, BEP20, ARBITRUM (GET /…/deposit-addresses lists the open ones); required, checked after
    # the store's ownership so that someone else's store is a 404 whatever the body
    network: NetworkName | None = None


class DepositAddressBody(msgspec.Struct):
    network: str
    title: str
    family: str  # evm or tron; EVM networks share one address
    address: str
    currency: str
    token_contract: str  # send only this token: anything else is not credited
    min_deposit: DecimalText  # smaller deposits are recorded but never credited
    confirmations: int  # blocks before the deposit is credited
    qr_svg: str  # path of the address as a QR code (SVG; ?format=png for PNG)


def _body(prefix: str, found: DepositAddress) -> DepositAddressBody:
    return DepositAddressBody(
        network=found.network,
        title=found.title,
        family=found.family,
        address=found.address,
        currency="USDT",
        token_contract=found.token_contract,
        min_deposit=found.min_deposit,
        confirmations=found.confirmations,
        qr_svg=f"{prefix}/deposit-addresses/{found.network}/qr",
    )


def _qr(address: str, fmt: QrFormat) -> Response[bytes]:
    buffer = io.BytesIO()
    qr = segno.make(address, error="m")
    if fmt == QrFormat.SVG:
        qr.save(buffer, kind="svg", scale=6, border=2, xmldecl=False)
        media = "image/svg+xml"
    else:
        qr.save(buffer, kind="png", scale=6, border=2)
        media = "image/png"
    return Response(buffer.getvalue(), media_type=media, headers={"Cache-Control": "private, max-age=3600"})


async def _list(
    request: Request[Any, Any, Any], owner_type: str, prefix: str, store_id: int | None = None
) -> list[DepositAddressBody]:
    _, owner_id = await wallet_owner(request, owner_type, store_id)
    async with transaction() as session:
        found = await addresses.owner_addresses(session, owner_type, owner_id)
    return [_body(prefix, item) for item in found]


async def _create(
    request: Request[Any, Any, Any], data: NewDepositAddress, owner_type: str, prefix: str, store_id: int | None = None
) -> Response[DepositAddressBody]:
    _, owner_id = await wallet_owner(request, owner_type, store_id)
    actor = Actor.user(current_principal(request).user_id)
    async with transaction() as session:
        made = await addresses.request_address(
            session, actor, owner_type, owner_id, data.network, ip=client_ip(request)
        )
    return Response(_body(prefix, made), status_code=HTTP_201_CREATED if made.created else HTTP_200_OK)


async def _qr_of(
    request: Request[Any, Any, Any], owner_type: str, network: str, fmt: QrFormat, store_id: int | None = None
) -> Response[bytes]:
    _, owner_id = await wallet_owner(request, owner_type, store_id)
    async with transaction() as session:
        found = await addresses.owner_address(session, owner_type, owner_id, network)
    return _qr(found.address, fmt)


def _handlers(role: str, owner_type: str) -> list[Any]:
    prefix = f"/{role}"

    @get("/deposit-addresses", operation_id=f"{role}_deposit_addresses", tags=[role], summary="Deposit addresses")
    async def list_addresses(request: Request[Any, Any, Any]) -> list[DepositAddressBody]:
        return await _list(request, owner_type, prefix)

    @post(
        "/deposit-addresses",
        operation_id=f"{role}_create_deposit_address",
        tags=[role],
        summary="Get (or make, once) the deposit address on a network",
        status_code=HTTP_201_CREATED,
    )
    async def create_address(request: Request[Any, Any, Any], data: NewDepositAddress) -> Response[DepositAddressBody]:
        return await _create(request, data, owner_type, prefix)

    @get(
        "/deposit-addresses/{network:str}/qr",
        operation_id=f"{role}_deposit_address_qr",
        tags=[role],
        summary="The deposit address as a QR code (SVG or PNG)",
        media_type="image/svg+xml",
    )
    async def qr(
        request: Request[Any, Any, Any], network: NetworkInPath, format: QrFormat = QrFormat.SVG
    ) -> Response[bytes]:
        return await _qr_of(request, owner_type, network, format)

    return [list_addresses, create_address, qr]


trader_handlers = _handlers("trader", "trader")
teamlead_handlers = _handlers("teamlead", "teamlead")


@get(
    "/stores/{store_id:int}/deposit-addresses",
    operation_id="merchant_deposit_addresses",
    tags=["merchant"],
    summary="A store's deposit addresses",
)
async def merchant_list(request: Request[Any, Any, Any], store_id: int) -> list[DepositAddressBody]:
    return await _list(request, "store", f"/merchant/stores/{store_id}", store_id)


@post(
    "/stores/{store_id:int}/deposit-addresses",
    operation_id="merchant_create_deposit_address",
    tags=["merchant"],
    summary="Get (or make, once) a store's deposit address on a network",
    status_code=HTTP_201_CREATED,
)
async def merchant_create(
    request: Request[Any, Any, Any], store_id: int, data: NewDepositAddress
) -> Response[DepositAddressBody]:
    return await _create(request, data, "store", f"/merchant/stores/{store_id}", store_id)


@get(
    "/stores/{store_id:int}/deposit-addresses/{network:str}/qr",
    operation_id="merchant_deposit_address_qr",
    tags=["merchant"],
    summary="A store's deposit address as a QR code (SVG or PNG)",
    media_type="image/svg+xml",
)
async def merchant_qr(
    request: Request[Any, Any, Any],
    store_id: int,
    network: NetworkInPath,
    format: QrFormat = QrFormat.SVG,
) -> Response[bytes]:
    return await _qr_of(request, "store", network, format, store_id)


merchant_handlers = [merchant_list, merchant_create, merchant_qr]
