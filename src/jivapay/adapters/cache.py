"""Redis clients (cache, counters, pub/sub) built from REDIS_URL."""

from __future__ import annotations

import redis.asyncio as aioredis

from jivapay.settings import Settings


def create_redis(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        settings.require_redis_url(),
        decode_responses=True,
        socket_timeout=5,
        socket_connect_timeout=5,
        health_check_interval=30,
    )
