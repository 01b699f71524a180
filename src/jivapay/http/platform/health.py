"""Probes: /health (the process answers) and /ready (it can serve: DB, migrations, Redis)."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from jivapay.adapters.resources import get_resources
from jivapay.services.platform.health import check_readiness


class HealthBody(msgspec.Struct):
    status: str


class ReadyBody(msgspec.Struct):
    status: str
    checks: dict[str, str]


@get("/health", operation_id="health", summary="Liveness: the process is up", tags=["system"])
async def health() -> HealthBody:
    return HealthBody(status="ok")


@get(
    "/ready",
    operation_id="ready",
    summary="Readiness: database reachable and migrated, Redis reachable",
    tags=["system"],
    responses={},
)
async def ready() -> Response[ReadyBody]:
    readiness = await check_readiness(get_resources())
    return Response(
        ReadyBody(status="ready" if readiness.ready else "not_ready", checks=readiness.checks),
        status_code=HTTP_200_OK if readiness.ready else HTTP_503_SERVICE_UNAVAILABLE,
    )


route_handlers = [health, ready]
