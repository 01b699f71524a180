"""Statistics rollups: `stats.refresh`, enqueued by the scheduler every STATS_REFRESH_SECONDS."""

from __future__ import annotations

import logging

from jivapay.adapters.db.uow import atomic
from jivapay.adapters.resources import get_resources
from jivapay.services.staff.stats import refresh_rollups
from jivapay.worker.actors.base import jivapay_actor

log = logging.getLogger("jivapay.stats")


@jivapay_actor("stats.refresh", max_retries=2, time_limit_ms=600_000)
async def refresh() -> None:
    """Idempotent: a refresh with nothing changed rebuilds at most the overlap's days."""
    async with atomic(get_resources().session_factory, name="stats.refresh") as session:
        days = await refresh_rollups(session)
    log.info("statistics rollups refreshed", extra={"days": days})
