"""Rate limits and IP blocks, as ASGI middleware around the whole app.

- Login endpoints: RATE_LIMIT_LOGIN per IP. Everything else: RATE_LIMIT_DEFAULT per caller —
  the user of a valid bearer token, the store of an API key, else the IP.
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
from jivapay.adapters.security import api_key_prefix, decode_access_token
from jivapay.domain.config import DEFINITIONS
from jivapay.logs import request_id_var
from jivapay.services.config import get_config
from jivapay.services.ip_blocks import blocked_until, record_failure
from jivapay.settings import Settings, get_settings

log = logging.getLogger("jivapay.ratelimit")

UNLIMITED_PATHS = frozenset({"/health", "/ready", "/metrics"})
LOGIN_SUFFIXES = ("/auth/token", "/auth/login")
REPORT_EVERY_SECONDS = 60


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitKey:
    kind: str  # "ip" | "user" | "store"
    value: str


def default_identify(scope: dict[str, Any], settings: Settings) -> RateLimitKey:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            return RateLimitKey("user", str(decode_access_token(settings, token.strip()).user_id))
        except Exception:  # noqa: BLE001,S110 - an invalid token is limited by IP
            pass
    prefix = api_key_prefix(headers.get("x-api-key", "").strip())
    if prefix:
        return RateLimitKey("store", prefix)
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


class RateLimitMiddleware:
    def __init__(
        self, app: Any, *, identify: Callable[[dict[str, Any], Settings], RateLimitKey] = default_identify
    ) -> None:
        self.app = app
        self.identify = identify
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Limiters] = weakref.WeakKeyDictionary()
        self._last_report = 0.0

    def _limiter(self) -> _Limiters:
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = _Limiters(get_settings())
        return limiter

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
            if is_login:
                item, key = await _limit("RATE_LIMIT_LOGIN"), RateLimitKey("ip", ip)
            else:
                item, key = await _limit("RATE_LIMIT_DEFAULT"), self.identify(scope, get_settings())
            strategy = self._limiter().strategy
            bucket = ("login" if is_login else "api", key.kind, key.value)
            allowed = await strategy.hit(item, *bucket)
            reset, remaining = await strategy.get_window_stats(item, *bucket)
            headers = [
                (b"x-ratelimit-limit", str(item.amount).encode()),
                (b"x-ratelimit-remaining", str(max(remaining, 0)).encode()),
                (b"x-ratelimit-reset", str(int(reset)).encode()),
            ]
            if not allowed:
                retry_after = max(int(reset - time.time()) + 1, 1)
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
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
        if status == 401:
            await self._count_failure(ip)

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
