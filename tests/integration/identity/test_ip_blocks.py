"""IP blocks in Redis: the failure counter's fixed window and the block it sets (on Redis 6.2 too)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from jivapay.services.identity.ip_blocks import FAILURE_PREFIX, blocked_until, record_failure, unblock_ip

pytestmark = pytest.mark.redis
IP = "198.51.100.40"


async def test_the_threshold_blocks_the_ip_for_the_block_time(resources: Any) -> None:
    redis = resources.redis
    results = [await record_failure(redis, IP, threshold=3, window_seconds=60, block_seconds=120) for _ in range(3)]
    assert results == [False, False, True]
    until = await blocked_until(redis, IP)
    assert until is not None
    assert 110 <= until - time.time() <= 121
    assert await redis.exists(FAILURE_PREFIX + IP) == 0  # the count starts again after a block
    assert await unblock_ip(redis, IP) is True
    assert await blocked_until(redis, IP) is None


async def test_the_window_starts_at_the_first_failure_and_is_not_extended(resources: Any) -> None:
    redis = resources.redis
    assert await record_failure(redis, IP, threshold=3, window_seconds=2, block_seconds=60) is False
    await asyncio.sleep(1.1)
    assert await record_failure(redis, IP, threshold=3, window_seconds=2, block_seconds=60) is False
    ttl = await redis.pttl(FAILURE_PREFIX + IP)
    assert 0 < ttl <= 1000  # a later failure leaves the expiry where the first one set it
    await asyncio.sleep(ttl / 1000 + 0.2)
    # the window is over: this is the first failure of a new one, not the third
    assert await record_failure(redis, IP, threshold=3, window_seconds=2, block_seconds=60) is False
    assert await redis.get(FAILURE_PREFIX + IP) == "1"
    assert await blocked_until(redis, IP) is None
