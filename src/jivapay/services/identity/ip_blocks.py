"""Temporary IP blocks (Redis with TTL): set automatically after repeated 401/429, or by hand."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import time

import redis.asyncio as aioredis

from jivapay.domain.errors import ValidationFailed

BLOCK_PREFIX = "jivapay:ipblock:"
FAILURE_PREFIX = "jivapay:ipfail:"


@dataclasses.dataclass(frozen=True, slots=True)
class BlockedIP:
    ip: str
    reason: str
    expires_at: int  # unix seconds


def normalize_ip(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        raise ValidationFailed(f"{ip!r} is not an IP address", field="ip") from None


async def block_ip(redis: aioredis.Redis, ip: str, seconds: int, reason: str) -> BlockedIP:
    if not 1 <= seconds <= 30 * 86_400:
        raise ValidationFailed("seconds must be between 1 and 2592000 (30 days)", field="seconds")
    ip = normalize_ip(ip)
    expires_at = int(time.time()) + seconds
    await redis.set(BLOCK_PREFIX + ip, json.dumps({"reason": reason[:200], "expires_at": expires_at}), ex=seconds)
    return BlockedIP(ip, reason[:200], expires_at)


async def unblock_ip(redis: aioredis.Redis, ip: str) -> bool:
    ip = normalize_ip(ip)
    removed = await redis.delete(BLOCK_PREFIX + ip, FAILURE_PREFIX + ip)
    return bool(removed)


async def blocked_until(redis: aioredis.Redis, ip: str) -> int | None:
    raw = await redis.get(BLOCK_PREFIX + ip)
    if raw is None:
        return None
    return int(json.loads(raw)["expires_at"])


async def list_blocked(redis: aioredis.Redis) -> list[BlockedIP]:
    found: list[BlockedIP] = []
    async for key in redis.scan_iter(match=BLOCK_PREFIX + "*", count=500):
        raw = await redis.get(key)
        if raw is not None:
            data = json.loads(raw)
            found.append(BlockedIP(str(key).removeprefix(BLOCK_PREFIX), data["reason"], int(data["expires_at"])))
    return sorted(found, key=lambda b: b.ip)


async def record_failure(
    redis: aioredis.Redis, ip: str, *, threshold: int, window_seconds: int, block_seconds: int
) -> bool:
    """Count a 401/429 for ``ip`` in a fixed window; block it when the count reaches the threshold.

    The window starts with the first failure: SET NX creates the counter with its expiry and INCR
    keeps it (Redis 6.2 has no EXPIRE … NX)."""
    key = FAILURE_PREFIX + ip
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window_seconds, nx=True)
        pipe.incr(key)
        _, count = await pipe.execute()
    if int(count) < threshold:
        return False
    await redis.delete(key)
    await redis.set(
        BLOCK_PREFIX + ip,
        json.dumps(
            {"reason": f"{count} failed requests in {window_seconds}s", "expires_at": int(time.time()) + block_seconds}
        ),
        ex=block_seconds,
    )
    return True
