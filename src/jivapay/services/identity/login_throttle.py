"""Password guessing slowed per account, whatever the IPs (Redis, with TTLs).

After LOGIN_FAILURE_THRESHOLD failed passwords for one login within
LOGIN_FAILURE_WINDOW_SECONDS, each further failure locks the login for twice as long as the
one before: 1 s, 2 s, 4 s … at most LOGIN_LOCK_MAX_SECONDS. While locked, attempts get 429
``login_throttled`` with Retry-After before any password is checked (no argon2 spent). The
owner is not locked out for long (the lock is capped) and not at all from a device that
already signed in (its trusted-device cookie skips the lock). A success clears the count.
The owner is e-mailed once per window when the threshold is reached.

Keys hold a hash of the login, not the login. Redis trouble: logins proceed unthrottled
(the per-IP limit still holds), and the outage is logged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math

import redis.asyncio as aioredis

log = logging.getLogger("jivapay.auth")

FAILURES_KEY = "jivapay:loginfail:{}"
LOCK_KEY = "jivapay:loginlock:{}"
NOTIFIED_KEY = "jivapay:loginfail-mail:{}"


@dataclasses.dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    threshold: int
    window_seconds: int
    max_lock_seconds: int


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    count: int
    lock_seconds: int | None
    notify_owner: bool  # the threshold was just reached: tell the owner (once per window)


def _id(login: str) -> str:
    return hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]


def lock_for(count: int, policy: ThrottlePolicy) -> int | None:
    """Seconds a login stays locked after its ``count``-th failure in the window."""
    if count < policy.threshold:
        return None
    exponent = count - policy.threshold
    if exponent >= 31:
        return policy.max_lock_seconds
    return min(int(2**exponent), policy.max_lock_seconds)


async def locked_for(redis: aioredis.Redis, login: str) -> int | None:
    """Seconds until ``login`` may try again, None when it may now."""
    try:
        remaining_ms = int(await redis.pttl(LOCK_KEY.format(_id(login))))
    except Exception as exc:  # noqa: BLE001 - fail open: the per-IP limit still holds
        log.warning("login throttle unavailable", extra={"error": repr(exc)})
        return None
    return max(math.ceil(remaining_ms / 1000), 1) if remaining_ms > 0 else None


async def record_failure(redis: aioredis.Redis, login: str, policy: ThrottlePolicy) -> Failure | None:
    """Count a failed password for ``login``; lock it when the count calls for it."""
    key = _id(login)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(FAILURES_KEY.format(key), 0, ex=policy.window_seconds, nx=True)  # INCR keeps the TTL
            pipe.incr(FAILURES_KEY.format(key))
            _, count = await pipe.execute()
        lock = lock_for(int(count), policy)
        if lock is not None:
            await redis.set(LOCK_KEY.format(key), 1, ex=lock)
        notify = False
        if int(count) >= policy.threshold:
            notify = bool(await redis.set(NOTIFIED_KEY.format(key), 1, ex=policy.window_seconds, nx=True))
    except Exception as exc:  # noqa: BLE001
        log.warning("login throttle unavailable", extra={"error": repr(exc)})
        return None
    return Failure(int(count), lock, notify)


async def clear(redis: aioredis.Redis, login: str) -> None:
    key = _id(login)
    try:
        await redis.delete(FAILURES_KEY.format(key), LOCK_KEY.format(key))
    except Exception as exc:  # noqa: BLE001
        log.warning("login throttle unavailable", extra={"error": repr(exc)})
