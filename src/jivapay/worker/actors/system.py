"""Platform actors that carry no business: the end-to-end probe of the job path."""

from __future__ import annotations

from dramatiq.middleware import CurrentMessage

from jivapay.adapters.resources import get_resources
from jivapay.worker.actors.base import jivapay_actor

PING_KEY = "jivapay:ping:{}"


@jivapay_actor("system.ping", max_retries=3, time_limit_ms=10_000)
async def ping(ping_id: str) -> None:
    """Record that a ping ran (idempotent: a redelivery writes the same key)."""
    message = CurrentMessage.get_current_message()
    await get_resources().redis.set(PING_KEY.format(ping_id), message.message_id if message else "1", ex=86_400)
