"""Rate limits and IP blocks, as ASGI middleware around the whole app.

- Login endpoints: RATE_LIMIT_LOGIN per IP. Everything else: RATE_LIMIT_DEFAULT per caller —
  the user of a valid (signature-checked) bearer token, else the IP. An API key is limited
  per store only once it is verified (``limit_store``, called by the guard): a stranger who
  knows a key's prefix spends nothing of the store's budget, and a 401 counts against the
  caller's IP bucket (and towards its block) instead.
- 429 with Retry-After and X-RateLimit-*; successful answers carry X-RateLimit-* too.
- An IP that collects IP_BLOCK_THRESHOLD 401/429 answers within IP_BLOCK_WINDOW_SECONDS
  is blocked for IP_BLOCK_SECONDS (403 ip_blocked).
- Redis down: requests are served (fail open), the outage is logged and reported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

import msgspec
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from jivapay.adapters.notifications import report_critical_error
from jivapay.adapters.resources import get_resources
from jivapay.adapters.security import decode_access_token
from jivapay.domain.errors import RateLimited
from jivapay.domain.platform.config import DEFINITIONS
from jivapay.logs import request_id_var
from jivapay.services.identity.ip_blocks import blocked_until, record_failure
from jivapay.services.platform.config import get_config
from jivapay.settings import Settings, get_settings

log = logging.getLogger("jivapay.ratelimit")

UNLIMITED_PATHS = frozenset({"/health", "/ready", "/metrics"})
LOGIN_SUFFIXES = ("/auth/token", "/auth/login")
REPORT_EVERY_SECONDS = 60


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitKey:
    kind: str  # "ip" | "user" | "store"
    value: str


def default_identify(scope: dict[str, Any], settings: Settings) -> RateLimitKey | None:
    """The bucket to charge before the handler runs; None: the guard charges the verified store."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            return RateLimitKey("user", str(decode_access_token(settings, token.strip()).user_id))
        except Exception:  # noqa: BLE001,S110 - an invalid token is limited by IP
            pass
    if headers.get("x-api-key", "").strip():
        return None
    return RateLimitKey("ip", client_host(scope))


def client_host(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _limits_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


class _Limiters:
    def __init__(self, settings: Settings) -> None:
        storage = RedisStorage(
            _limits_uri(settings.require_redis_url()),
            implementation="redispy",
            socket_connect_timeout=2,
            socket_timeout=2,
            key_prefix="jivapay:rl",
        )
        self.strategy = MovingWindowRateLimiter(storage)


async def _limit(key: str) -> RateLimitItem:
    fallback = str(DEFINITIONS[key].default)
    raw = await get_config(key, str, fallback)
    try:
        return parse(raw)
    except ValueError:
        log.error("unparsable rate limit setting; using the built-in one", extra={"key": key, "value": raw})
        return parse(fallback)


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Limiters] = weakref.WeakKeyDictionary()
_STATE_HEADERS = "ratelimit_headers"  # scope state: X-RateLimit-* set by limit_store


def _limiter() -> _Limiters:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = _Limiters(get_settings())
    return limiter


async def _hit(item: RateLimitItem, bucket: tuple[str, ...]) -> tuple[bool, list[tuple[bytes, bytes]], int]:
    """Charge one request: (allowed, X-RateLimit-* headers, seconds until the window frees one)."""
    strategy = _limiter().strategy
    allowed = await strategy.hit(item, *bucket)
    reset, remaining = await strategy.get_window_stats(item, *bucket)
    headers = [
        (b"x-ratelimit-limit", str(item.amount).encode()),
        (b"x-ratelimit-remaining", str(max(remaining, 0)).encode()),
        (b"x-ratelimit-reset", str(int(reset)).encode()),
    ]
    return allowed, headers, max(int(reset - time.time()) + 1, 1)


async def limit_store(scope: dict[str, Any], store_id: int) -> None:
    """Charge the verified store's bucket (the API-key guard calls this); RateLimited when spent.

    Redis trouble: served without limiting, like the middleware.
    """
    try:
        item = await _limit("RATE_LIMIT_DEFAULT")
        allowed, headers, retry_after = await _hit(item, ("api", "store", str(store_id)))
    except Exception as exc:  # noqa: BLE001 - Redis trouble must not take the API down
        log.warning("rate limiting unavailable, serving without it", extra={"error": repr(exc)})
        return
    scope.setdefault("state", {})[_STATE_HEADERS] = headers
    if not allowed:
        raise RateLimited("Too many requests; slow down", limit=str(item), retry_after=retry_after)


class RateLimitMiddleware:
    def __init__(
        self, app: Any, *, identify: Callable[[dict[str, Any], Settings], RateLimitKey | None] = default_identify
    ) -> None:
        self.app = app
        self.identify = identify
        self._last_report = 0.0

    def _report(self, exc: Exception) -> None:
        now = time.monotonic()
        log.warning("rate limiting unavailable, serving without it", extra={"error": repr(exc)})
        if now - self._last_report > REPORT_EVERY_SECONDS:
            self._last_report = now
            report_critical_error(exc, "rate limiting unavailable (Redis), failing open")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in UNLIMITED_PATHS or path.startswith("/schema"):
            await self.app(scope, receive, send)
            return
        ip = client_host(scope)
        headers: list[tuple[bytes, bytes]] = []
        try:
            redis = get_resources().redis
            until = await blocked_until(redis, ip)
            if until is not None:
                await _error(
                    send,
                    403,
                    "ip_blocked",
                    "This IP address is temporarily blocked",
                    {"retry_after": max(until - int(time.time()), 1)},
                    [(b"retry-after", str(max(until - int(time.time()), 1)).encode())],
                )
                return
            is_login = scope.get("method") == "POST" and (path.endswith(LOGIN_SUFFIXES) or path == "/auth/refresh")
            default_item = await _limit("RATE_LIMIT_DEFAULT")
            key: RateLimitKey | None
            if is_login:
                item, key = await _limit("RATE_LIMIT_LOGIN"), RateLimitKey("ip", ip)
            else:
                item, key = default_item, self.identify(scope, get_settings())
            if key is not None:
                bucket = ("login" if is_login else "api", key.kind, key.value)
                allowed, headers, retry_after = await _hit(item, bucket)
            else:  # an API key: the guard charges the store once the key is verified
                allowed = await _limiter().strategy.test(default_item, "api", "ip", ip)
                item, retry_after = default_item, 1
                if not allowed:
                    reset, _ = await _limiter().strategy.get_window_stats(default_item, "api", "ip", ip)
                    retry_after = max(int(reset - time.time()) + 1, 1)
            if not allowed:
                await _error(
                    send,
                    429,
                    "rate_limited",
                    "Too many requests; slow down",
                    {"limit": str(item), "retry_after": retry_after},
                    [*headers, (b"retry-after", str(retry_after).encode())],
                )
                await self._count_failure(ip)
                return
        except Exception as exc:  # noqa: BLE001 - Redis trouble must not take the API down
            self._report(exc)
            await self.app(scope, receive, send)
            return

        status = 0

        async def send_with_headers(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                late = scope.get("state", {}).get(_STATE_HEADERS, [])
                message["headers"] = [*message.get("headers", []), *headers, *late]
            await send(message)

        await self.app(scope, receive, send_with_headers)
        if status == 401:
            await self._count_failure(ip)
            if key is None:  # a refused API key spends the caller's IP budget, not a store's
                await self._charge_ip(ip)

    async def _charge_ip(self, ip: str) -> None:
        try:
            await _hit(await _limit("RATE_LIMIT_DEFAULT"), ("api", "ip", ip))
        except Exception as exc:  # noqa: BLE001
            self._report(exc)

    async def _count_failure(self, ip: str) -> None:
        try:
            threshold = await get_config("IP_BLOCK_THRESHOLD", int)
            window = await get_config("IP_BLOCK_WINDOW_SECONDS", int)
            seconds = await get_config("IP_BLOCK_SECONDS", int)
            if await record_failure(
                get_resources().redis, ip, threshold=threshold, window_seconds=window, block_seconds=seconds
            ):
                log.warning("IP blocked after repeated failures", extra={"ip": ip, "seconds": seconds})
        except Exception as exc:  # noqa: BLE001
            self._report(exc)


async def _error(
    send: Any, status: int, code: str, message: str, details: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    body = msgspec.json.encode(
        {"error": {"code": code, "message": message, "details": details}, "request_id": request_id_var.get()}
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
