"""The public gateway (`/gateway/*`), authenticated by a store's `X-API-Key`."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get

from jivapay.http.deps import current_store, transaction
from jivapay.http.guards import require_store
from jivapay.services.stores import StoreIdentity, get_store


class GatewayStoreBody(msgspec.Struct):
    store_id: int
    name: str


@get("/store", operation_id="gateway_store", tags=["gateway"], summary="The store this API key belongs to")
async def gateway_store(request: Request[Any, Any, Any]) -> GatewayStoreBody:
    identity: StoreIdentity = current_store(request)
    async with transaction() as session:
        store = await get_store(session, identity.store_id)
    return GatewayStoreBody(store.id, store.name)


router = Router(path="/gateway", route_handlers=[gateway_store], guards=[require_store])
