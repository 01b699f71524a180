"""Exchange-rate refresh from the configured source."""

from __future__ import annotations

from jivapay.services.platform.reference_data import configured_source, refresh_rates
from jivapay.worker.actors.base import jivapay_actor


@jivapay_actor("rates.refresh", max_retries=2, time_limit_ms=120_000)
async def refresh() -> None:
    source = await configured_source()
    if source is not None:
        await refresh_rates(source)
