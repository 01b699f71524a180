"""Rate limits and IP blocks, as ASGI middleware around the whole app.

- Login endpoints: RATE_LIMIT_LOGIN per IP. Everything else: RATE_LIMIT_DEFAULT per caller —
  the user of a valid (signature-checked) bearer token, else the IP. An API key on a gateway
  path is limited per store only once it is verified (``limit_store``, called by the guard): a
  stranger who knows a key's prefix spends nothing of the store's budget, and a 401 counts
  against the caller's IP bucket (and towards its block) instead.
- A limit "N/period" is a GCRA bucket (the generic cell rate algorithm: a token bucket kept as
  one timestamp): up to N requests at once, then one more every period/N. One Lua script per
  request reads the IP's block, charges the bucket and (for an API key) tests the IP's bucket:
  one Redis round trip, whatever the limit.
- 429 with Retry-After and X-RateLimit-*; successful answers carry X-RateLimit-* too
  (Remaining: requests that may be made at once now; Reset: Unix time the bucket is full again).
- An IP that collects IP_BLOCK_THRESHOLD 401/429 answers within IP_BLOCK_WINDOW_SECONDS
  is blocked for IP_BLOCK_SECONDS (403 ip_blocked).
- Redis down: requests are served (fail open), the outage is logged and reported.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

import msgspec
from limits import RateLimitItem, parse
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from jivapay.adapters.notifications import report_critical_error
from jivapay.adapters.resources import get_resources
from jivapay.adapters.security import decode_access_token
from jivapay.domain.errors import IpBlocked, RateLimited
from jivapay.domain.platform.config import DEFINITIONS
from jivapay.logs import request_id_var
from jivapay.services.identity.ip_blocks import BLOCK_PREFIX, record_failure
from jivapay.services.platform.config import get_config
from jivapay.settings import Settings, get_settings

log = logging.getLogger("jivapay.ratelimit")

UNLIMITED_PATHS = frozenset({"/health", "/ready", "/metrics"})
LOGIN_SUFFIXES = ("/auth/token", "/auth/login")
REPORT_EVERY_SECONDS = 60
BUCKET_PREFIX = "jivapay:rl:"
ACCESS_CLAIMS = "access_claims"  # scope state: (token, its checked claims)


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitKey:
    kind: str  # "ip" | "user" | "store"
    value: str


def default_identify(scope: dict[str, Any], settings: Settings) -> RateLimitKey | None:
    """The bucket to charge before the handler runs; None: the guard charges the verified store."""
    authorization = api_key = ""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-api-key":
            api_key = value.decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            claims = decode_access_token(settings, token.strip())
        except Exception:  # noqa: BLE001,S110 - an invalid token is limited by IP
            pass
        else:  # the guard checks the same token: it reads the claims from here instead of decoding again
            scope.setdefault("state", {})[ACCESS_CLAIMS] = (token.strip(), claims)
            return RateLimitKey("user", str(claims.user_id))
    if api_key.strip() and scope.get("path", "").startswith("/gateway/"):
        return None
    return RateLimitKey("ip", client_host(scope))


def client_host(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


@functools.lru_cache(maxsize=64)
def _parsed(raw: str) -> RateLimitItem:
    return parse(raw)


async def _limit(key: str) -> RateLimitItem:
    fallback = str(DEFINITIONS[key].default)
    raw = await get_config(key, str, fallback)
    try:
        return _parsed(raw)
    except ValueError:
        log.error("unparsable rate limit setting; using the built-in one", extra={"key": key, "value": raw})
        return _parsed(fallback)


# KEYS: the IP's block, the bucket to charge ("" for none), the bucket to test without charging ("").
# ARGV: per bucket its limit and period in ms (charged, then tested).
# Returns {block's expires_at or 0, allowed, remaining, reset (unix ms), retry (ms), test allowed, test retry (ms)}.
# A bucket is its "theoretical arrival time" (GCRA): allowed while it is at most one period ahead of now.
_SCRIPT = """
local block = redis.call('GET', KEYS[1])
if block then
  return {tonumber(cjson.decode(block)['expires_at']) or 1, 0, 0, 0, 0, 0, 0}
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function bucket(key, limit, period, charge)
  local step = period / limit
  local tat = tonumber(redis.call('GET', key) or 0)
  if tat < now then tat = now end
  local next_tat = tat + step
  local allow_at = next_tat - period
  if now < allow_at then
    return 0, 0, tat, math.ceil(allow_at - now)
  end
  if charge then
    redis.call('SET', key, string.format('%.3f', next_tat), 'PX', math.ceil(next_tat - now) + 1000)
  end
  return 1, math.floor((period - (next_tat - now)) / step), next_tat, 0
end
local allowed, remaining, reset, retry = 1, 0, 0, 0
if KEYS[2] ~= '' then
  allowed, remaining, reset, retry = bucket(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), true)
end
local test_allowed, test_retry = 1, 0
if KEYS[3] ~= '' and allowed == 1 then
  local _r, _t
  test_allowed, _r, _t, test_retry = bucket(KEYS[3], tonumber(ARGV[3]), tonumber(ARGV[4]), false)
end
return {0, allowed, remaining, math.ceil(reset), retry, test_allowed, test_retry}
"""


_scripts: weakref.WeakKeyDictionary[Redis, AsyncScript] = weakref.WeakKeyDictionary()


def _script() -> AsyncScript:
    """The script on this loop's Redis client (EVALSHA, loaded again if the server lost it)."""
    redis = get_resources().redis
    script = _scripts.get(redis)
    if script is None:
        script = _scripts[redis] = redis.register_script(_SCRIPT)
    return script


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    blocked_until: int  # unix seconds; 0: not blocked
    allowed: bool
    headers: list[tuple[bytes, bytes]]  # X-RateLimit-* of the charged bucket
    retry_after: int  # seconds, when refused


def _bucket(kind: tuple[str, ...]) -> str:
    return BUCKET_PREFIX + ":".join(kind)


async def check(
    ip: str,
    charge: tuple[RateLimitItem, tuple[str, ...]] | None,
    test: tuple[RateLimitItem, tuple[str, ...]] | None = None,
) -> Verdict:
    """The IP's block, then one bucket charged and another only tested: one round trip."""
    keys = [BLOCK_PREFIX + ip, _bucket(charge[1]) if charge else "", _bucket(test[1]) if test else ""]
    args: list[int] = []
    for entry in (charge, test):
        args += [entry[0].amount, entry[0].get_expiry() * 1000] if entry else [1, 1]
    blocked, allowed, remaining, reset_ms, retry_ms, test_allowed, test_retry_ms = await _script()(keys=keys, args=args)
    if blocked:
        return Verdict(int(blocked), False, [], max(int(blocked) - int(time.time()), 1))
    headers: list[tuple[bytes, bytes]] = []
    if charge:
        headers = [
            (b"x-ratelimit-limit", str(charge[0].amount).encode()),
            (b"x-ratelimit-remaining", str(max(int(remaining), 0)).encode()),
            (b"x-ratelimit-reset", str(-(-int(reset_ms) // 1000)).encode()),
        ]
    if not allowed:
        return Verdict(0, False, headers, max(-(-int(retry_ms) // 1000), 1))
    if not test_allowed:
        return Verdict(0, False, headers, max(-(-int(test_retry_ms) // 1000), 1))
    return Verdict(0, True, headers, 0)


_STATE_HEADERS = "ratelimit_headers"  # scope state: X-RateLimit-* set by limit_store


async def limit_store(scope: dict[str, Any], store_id: int | None) -> None:
    """The API-key guard's limit: the caller's IP block and IP bucket (tested, not charged), then
    the verified store's bucket, charged; ``None`` for a key that is not valid (its 401 charges the
    IP afterwards). IpBlocked or RateLimited when refused.

    Redis trouble: served without limiting, like the middleware.
    """
    ip = client_host(scope)
    try:
        item = await _limit("RATE_LIMIT_DEFAULT")
        charge = (item, ("api", "store", str(store_id))) if store_id is not None else None
        verdict = await check(ip, charge, (item, ("api", "ip", ip)))
    except Exception as exc:  # noqa: BLE001 - Redis trouble must not take the API down
        log.warning("rate limiting unavailable, serving without it", extra={"error": repr(exc)})
        return
    if verdict.blocked_until:
        raise IpBlocked(retry_after=verdict.retry_after)
    scope.setdefault("state", {})[_STATE_HEADERS] = verdict.headers
    if not verdict.allowed:
        raise RateLimited("Too many requests; slow down", limit=str(item), retry_after=verdict.retry_after)


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
        is_login = scope.get("method") == "POST" and (path.endswith(LOGIN_SUFFIXES) or path == "/auth/refresh")
        key = RateLimitKey("ip", ip) if is_login else self.identify(scope, get_settings())
        if key is not None:  # else an API key: the guard checks the IP and charges the store once verified
            try:
                item = await _limit("RATE_LIMIT_LOGIN" if is_login else "RATE_LIMIT_DEFAULT")
                verdict = await check(ip, (item, ("login" if is_login else "api", key.kind, key.value)))
            except Exception as exc:  # noqa: BLE001 - Redis trouble must not take the API down
                self._report(exc)
                await self.app(scope, receive, send)
                return
            if verdict.blocked_until:
                details = {"retry_after": verdict.retry_after}
                retry = [(b"retry-after", str(verdict.retry_after).encode())]
                await _error(send, 403, "ip_blocked", "This IP address is temporarily blocked", details, retry)
                return
            headers = verdict.headers
            if not verdict.allowed:
                await _error(
                    send,
                    429,
                    "rate_limited",
                    "Too many requests; slow down",
                    {"limit": str(item), "retry_after": verdict.retry_after},
                    [*headers, (b"retry-after", str(verdict.retry_after).encode())],
                )
                await self._count_failure(ip)
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
            item = await _limit("RATE_LIMIT_DEFAULT")
            await check(ip, (item, ("api", "ip", ip)))
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
