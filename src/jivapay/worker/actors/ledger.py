"""Ledger actors: settlement of completed orders, reached through the outbox."""

from __future__ import annotations

from jivapay.adapters.db.uow import atomic
from jivapay.adapters.notifications import report_critical_error
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import RETRYABLE_ERRORS, JivaPayError
from jivapay.services.ledger import settle_completed_order
from jivapay.services.ledger_audit import audit_ledger
from jivapay.worker.actors.base import jivapay_actor


@jivapay_actor("ledger.settle", max_retries=10, min_backoff_ms=2_000)
async def settle(order_id: int) -> None:
    """Idempotent: a settled order is a no-op. A business failure here is an operator's emergency."""
    try:
        async with atomic(get_resources().session_factory, name="ledger.settle") as session:
            await settle_completed_order(session, order_id)
    except JivaPayError as exc:
        if not isinstance(exc, RETRYABLE_ERRORS):
            report_critical_error(exc, "a completed order could not be settled", order_id=order_id, code=exc.code)
        raise


@jivapay_actor("ledger.audit", max_retries=2, time_limit_ms=600_000)
async def audit() -> None:
    """The scheduled run of `jivapay ledger audit`: violations go to Sentry."""
    async with get_resources().session_factory() as session, session.begin():
        report = await audit_ledger(session)
    if not report.ok:
        report_critical_error(
            JivaPayError("ledger audit found violations"),
            "ledger audit",
            violations=report.violations[:50],
            checks=report.checks,
        )
