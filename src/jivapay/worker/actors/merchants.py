"""Merchant callbacks: one signed POST per message (the scheduler sends due events here)."""

from __future__ import annotations

from jivapay.adapters.resources import get_resources
from jivapay.services.merchants import callbacks
from jivapay.worker.actors.base import jivapay_actor


@jivapay_actor("callbacks.deliver", queue="callbacks", max_retries=3, time_limit_ms=60_000)
async def deliver(event_id: int) -> None:
    """Idempotent: an event already delivered or failed is left alone. The retry schedule is the
    event's own (next_attempt_at); dramatiq retries only our database/cache hiccups."""
    resources = get_resources()
    await callbacks.deliver(resources.session_factory, resources.settings, event_id, sender=resources.callback_sender)
