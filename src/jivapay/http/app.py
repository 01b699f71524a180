"""The Litestar application factory: routers, errors, metrics and OpenAPI in one place."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Contact, License, Server
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ASGIApp

import jivapay
from jivapay.adapters.notifications import init_sentry
from jivapay.adapters.resources import close_resources
from jivapay.http.body_guard import BodyGuardMiddleware
from jivapay.http.error_codes import ANY_OPERATION
from jivapay.http.errors import EXCEPTION_HANDLERS
from jivapay.http.merchants import payment_page
from jivapay.http.merchants.webhooks import webhook_schemas, webhooks
from jivapay.http.middleware import OptionalBodyMiddleware, RequestContextMiddleware
from jivapay.http.openapi import (
    EXTRA_SCHEMAS,
    SECURITY_SCHEMES,
    TAGS,
    DecimalSchemaPlugin,
    TextSchemaPlugin,
    TidyComponents,
    mark_optional_bodies,
    merchant_document,
    secure,
)
from jivapay.http.platform import files, health
from jivapay.http.ratelimit import RateLimitMiddleware
from jivapay.http.routers import admin, auth, gateway, merchant, support, teamlead, trader
from jivapay.http.security_headers import SecurityHeadersMiddleware
from jivapay.http.wallet.networks import refresh_gauges
from jivapay.settings import Settings, get_settings


@get("/schema/merchant.json", include_in_schema=False, media_type="application/json")
async def merchant_openapi(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The merchant-facing part of /schema/openapi.json (docs/integration.md, "Generating a client")."""
    full = request.app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    return merchant_document(full)


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False

    @get()
    async def get(self) -> Response[bytes]:
        await refresh_gauges()  # the wallet monitors' state lives in the database, not in this process
        return await super().get.fn(self)  # type: ignore[no-any-return]


EXTRA_SCHEMAS.update(webhook_schemas())


def create_asgi_app(settings: Settings | None = None) -> ASGIApp:
    """What uvicorn serves: the app inside the request-context middleware.

    Litestar runs its own middleware only for matched routes; wrapping the whole app gives
    every response (a 404 for an unknown path included) a request id and an access log line, and
    the security headers (outermost, so the rate limiter's 429/403 answers carry them too).
    """
    settings = settings or get_settings()
    app = RequestContextMiddleware(RateLimitMiddleware(create_app(settings)))
    return SecurityHeadersMiddleware(app, production=settings.is_production)


def create_app(settings: Settings | None = None) -> Litestar:
    """The API. On shutdown it closes the engine and Redis client of the loop it ran on (a test
    client runs the app on a loop of its own, so nothing is left open after each test)."""
    settings = settings or get_settings()
    prometheus = PrometheusConfig(
        app_name="jivapay",
        prefix="jivapay",
        group_path=True,  # label by route template, not by raw path (bounded cardinality)
        exclude=["/metrics"],
        exclude_unhandled_paths=True,
    )

    async def on_startup() -> None:
        init_sentry(settings, component="api")

    app = Litestar(
        route_handlers=[
            *health.route_handlers,
            MetricsController,
            *auth.route_handlers,
            merchant.router,
            trader.router,
            teamlead.router,
            support.router,
            admin.router,
            gateway.router,
            *files.route_handlers,
            *payment_page.HANDLERS,
            merchant_openapi,
        ],
        # the guard sees the body as sent: an empty one becomes {} only after it (OptionalBody)
        middleware=[prometheus.middleware, BodyGuardMiddleware, OptionalBodyMiddleware],
        # decimal strings' pattern on the services' dataclass views; request values' enums and patterns
        plugins=[DecimalSchemaPlugin(), TextSchemaPlugin()],
        logging_config=None,  # ours (jivapay.logs), not Litestar's default handlers
        exception_handlers=EXCEPTION_HANDLERS,
        on_startup=[on_startup],
        on_shutdown=[close_resources],
        openapi_config=OpenAPIConfig(
            title="JivaPay API",
            version=jivapay.__version__,
            summary="P2P payment processing: fiat pay-ins and pay-outs through traders, settled in USDT",
            description="Merchants start with docs/integration.md; errors always have the shape of `ErrorBody`; "
            "callbacks (webhooks) are signed as docs/callbacks.md describes. Each operation's description ends "
            "with the error codes (`error.code`) it answers. " + ANY_OPERATION,
            license=License(name="Proprietary", identifier="LicenseRef-JivaPay"),
            contact=Contact(name="JivaPay support", email="support@jivapay.example"),
            servers=[Server(url=settings.public_url or "/", description="This JivaPay")],
            tags=TAGS,
            webhooks=webhooks(),
            components=TidyComponents(security_schemes=dict(SECURITY_SCHEMES)),
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin(path="/scalar")],
        ),
        cors_config=_cors(settings),
        debug=False,
    )
    mark_optional_bodies(handler for route in app.routes for handler in getattr(route, "route_handlers", ()))
    secure(app.routes)
    return app


def _cors(settings: Settings) -> CORSConfig | None:
    """Closed (no Access-Control-* headers at all) unless CORS_ALLOW_ORIGINS lists exact origins."""
    if not settings.cors_allow_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_allow_origins),
        expose_headers=["X-Request-ID", "Retry-After", *(f"X-RateLimit-{h}" for h in ("Limit", "Remaining", "Reset"))],
    )
