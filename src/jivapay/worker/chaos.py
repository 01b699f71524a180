"""Fault injection for the chaos tests (tests/chaos): off unless the environment turns it on.

``JIVAPAY_CHAOS_DUPLICATE_DELIVERY=1`` makes every message delivered twice: when a worker
takes a message off the queue for the first time, it enqueues a copy (same message id, same
arguments) before running it, so the two copies may even run at the same time. The broker
delivers at least once anyway; this makes "more than once" the rule, so an actor that is not
idempotent shows it. Never set it in production.
"""

from __future__ import annotations

import logging
import os

import dramatiq
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

DUPLICATE_DELIVERY_ENV = "JIVAPAY_CHAOS_DUPLICATE_DELIVERY"
_DUPLICATE = "chaos_duplicate"  # marks the copy, so it is not copied again

log = logging.getLogger("jivapay.chaos")


def duplicate_delivery_enabled() -> bool:
    return os.environ.get(DUPLICATE_DELIVERY_ENV, "") == "1"


class DuplicateDelivery(Middleware):
    """Each message's first delivery also enqueues a copy of it (retries are not copied)."""

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        if message.options.get(_DUPLICATE) or message.options.get("retries"):
            return
        options = {k: v for k, v in message.options.items() if k not in ("eta", "redis_message_id")}
        duplicate: dramatiq.Message[object] = dramatiq.Message(
            queue_name=q_name(message.queue_name),
            actor_name=message.actor_name,
            args=message.args,
            kwargs=message.kwargs,
            options={**options, _DUPLICATE: True},
            message_id=message.message_id,
            message_timestamp=message.message_timestamp,
        )
        try:
            broker.enqueue(duplicate)
        except Exception:  # noqa: BLE001 - the broker is down: the original still runs
            log.warning("chaos: could not enqueue a duplicate", extra={"actor": message.actor_name})
