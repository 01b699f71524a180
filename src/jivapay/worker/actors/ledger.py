"""Ledger actors: settlement of completed orders, reached through the outbox."""

from __future__ import annotations

from jivapay.adapters.notifications import report_critical_error
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import JivaPayError
from jivapay.services.ledger.audit import audit_platform
from jivapay.services.ledger.posting import settle_or_flag
from jivapay.worker.actors.base import jivapay_actor


@jivapay_actor("ledger.settle", max_retries=10, min_backoff_ms=2_000)
async def settle(order_id: int) -> None:
    """Idempotent: a settled order is a no-op. A business failure here is an operator's emergency:
    it is reported and recorded on the order (settle_or_flag), not retried."""
    await settle_or_flag(get_resources().session_factory, order_id)


@jivapay_actor("ledger.audit", max_retries=2, time_limit_ms=600_000)
async def audit() -> None:
    """The scheduled run of `jivapay ledger audit`: violations go to Sentry."""
    async with get_resources().session_factory() as session, session.begin():
        report = await audit_platform(session)
    if not report.ok:
        report_critical_error(
            JivaPayError("ledger audit found violations"),
            "ledger audit",
            violations=report.violations[:50],
            checks=report.checks,
        )
