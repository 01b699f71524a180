"""``jivapay scheduler``: one APScheduler process that only enqueues.

It relays the outbox and prunes what was sent; enqueues due order assignments, the expiry of
overdue orders, the re-sending of lost settlements, due callbacks, the rates and statistics
refreshes and the hourly ledger audit; prunes old idempotency keys. Jobs that must not run
twice take a Redis key, but run exactly one all the same.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from dramatiq import Actor

from jivapay.adapters.db.uow import atomic
from jivapay.adapters.notifications import report_critical_error
from jivapay.adapters.resources import close_resources, get_resources
from jivapay.networks import enabled_networks
from jivapay.services.merchants import callbacks, idempotency
from jivapay.services.orders import records as order_records
from jivapay.services.platform import outbox
from jivapay.services.platform.config import get_config
from jivapay.settings import Settings
from jivapay.worker import actors as _actors
from jivapay.worker.broker import broker
from jivapay.worker.relay import relay_pending

log = logging.getLogger("jivapay.scheduler")
OUTBOX_RETENTION = dt.timedelta(days=7)
SWEEP_INTERVAL_SECONDS = 60  # a sweep pass per network at most this often


async def relay_outbox_job(batch_size: int) -> None:
    try:
        await relay_pending(get_resources().session_factory, broker, batch_size)
    except Exception as exc:  # noqa: BLE001 - one failed tick must not stop the schedule
        report_critical_error(exc, "outbox relay failed")


async def prune_outbox_job() -> None:
    try:
        cutoff = dt.datetime.now(dt.UTC) - OUTBOX_RETENTION
        async with atomic(get_resources().session_factory, name="outbox.prune") as session:
            deleted = await outbox.prune_sent(session, cutoff)
        log.info("outbox pruned", extra={"deleted": deleted})
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "outbox prune failed")


async def enqueue_due_orders_job(batch_size: int = 500) -> None:
    """New and retrying incoming orders whose backoff is over go to `orders.assign`.

    Claimed with a lease in their own transaction, sent after it commits: a crash in between
    re-sends them when the lease ends, and the actor ignores orders already handled.
    """
    try:
        async with atomic(get_resources().session_factory, name="orders.claim_due") as session:
            lease = await get_config("ORDER_ASSIGN_LEASE_SECONDS", int, session=session)
            due = await order_records.claim_due_incoming(session, batch_size, dt.timedelta(seconds=max(lease, 1)))
        for incoming_id, attempt in due:
            _actors.orders.assign.send(incoming_order_id=incoming_id, attempt=attempt)
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue due orders")


async def enqueue_due_callbacks_job(batch_size: int = 200) -> None:
    """Callback events whose time has come go to `callbacks.deliver` (claimed with a lease)."""
    try:
        async with atomic(get_resources().session_factory, name="callbacks.claim_due") as session:
            ids = await callbacks.claim_due(session, batch_size)
        for event_id in ids:
            _actors.merchants.deliver.send(event_id=event_id)
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue due callbacks")


async def prune_idempotency_keys_job() -> None:
    try:
        async with atomic(get_resources().session_factory, name="idempotency.prune") as session:
            deleted = await idempotency.prune(session)
        log.info("idempotency keys pruned", extra={"deleted": deleted})
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "idempotency key prune failed")


async def enqueue_overdue_orders_job(batch_size: int = 500) -> None:
    """Orders still waiting past their deadline go to `orders.expire` (which re-checks)."""
    try:
        async with get_resources().session_factory() as session:
            ids = await order_records.overdue_orders(session, batch_size)
        for order_id in ids:
            _actors.orders.expire.send(order_id=order_id)
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue overdue orders")


SETTLEMENT_GRACE = dt.timedelta(seconds=30)  # the outbox's own message normally settles well within this


async def enqueue_unsettled_orders_job(batch_size: int = 500) -> None:
    """Completed orders whose settlement is missing go to `ledger.settle` again: the database, not
    the broker, is the source of truth (a message lost with Redis or a killed worker is re-sent).
    Settlement is idempotent, so an order settled meanwhile costs a no-op."""
    try:
        async with get_resources().session_factory() as session:
            ids = await order_records.unsettled_orders(session, batch_size, SETTLEMENT_GRACE)
        for order_id in ids:
            _actors.ledger.settle.send(order_id=order_id)
        if ids:
            log.warning("re-sent lost settlements", extra={"orders": len(ids), "first_order_id": ids[0]})
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue unsettled orders")


async def _send_once_per(interval_setting: str, key: str, actor: Actor[[], Any]) -> None:
    """Send ``actor`` unless it was sent within the last ``interval_setting`` seconds (read on each
    tick, so a change applies without a restart): one Redis key, so several schedulers or a slow
    worker never pile up runs."""
    every = await get_config(interval_setting, int)
    if await get_resources().redis.set(key, "1", ex=max(every, 1), nx=True):
        actor.send()


async def enqueue_rate_refresh_job() -> None:
    """Every RATE_REFRESH_SECONDS (checked each minute)."""
    try:
        await _send_once_per("RATE_REFRESH_SECONDS", "jivapay:rates:refresh", _actors.platform.refresh_exchange_rates)
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue the rate refresh")


async def enqueue_stats_refresh_job() -> None:
    """Every STATS_REFRESH_SECONDS (checked every 10 s)."""
    try:
        await _send_once_per("STATS_REFRESH_SECONDS", "jivapay:stats:refresh", _actors.staff.refresh)
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue the statistics refresh")


async def enqueue_deposit_polls_job() -> None:
    """Each open network's `wallet.poll_deposits` and `wallet.check_withdrawals`, every
    poll_interval_seconds of that network (one
    Redis key per network: several schedulers or a slow poll never pile up polls)."""
    try:
        redis = get_resources().redis
        for network in enabled_networks():
            key = f"jivapay:wallet:poll:{network.name}"
            if await redis.set(key, "1", ex=network.poll_interval_seconds, nx=True):
                _actors.wallet.poll_deposits.send(network=network.name)
                _actors.wallet.check_withdrawals.send(network=network.name)
            sweep_key = f"jivapay:wallet:sweep:{network.name}"
            if await redis.set(sweep_key, "1", ex=max(SWEEP_INTERVAL_SECONDS, network.poll_interval_seconds), nx=True):
                _actors.wallet.sweep.send(network=network.name)
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue the deposit polls")


def enqueue_reconcile_job() -> None:
    """Every 5 minutes: the wallet's chain-vs-ledger snapshot per open network."""
    try:
        _actors.wallet.reconcile.send()
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue the wallet reconciliation")


def enqueue_daily_payouts_job() -> None:
    """Every minute: the actor creates each due store's payout once per day (safe to send twice)."""
    try:
        _actors.wallet.daily_payouts.send()
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue the daily payouts")


def enqueue_ledger_audit_job() -> None:
    try:
        _actors.ledger.audit.send()
    except Exception as exc:  # noqa: BLE001
        report_critical_error(exc, "could not enqueue the ledger audit")


def build_scheduler(settings: Settings) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=dt.UTC, job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(
        relay_outbox_job,
        "interval",
        seconds=settings.outbox_relay_interval_seconds,
        kwargs={"batch_size": settings.outbox_batch_size},
        id="outbox.relay",
        next_run_time=dt.datetime.now(dt.UTC),
    )
    scheduler.add_job(prune_outbox_job, "interval", hours=1, id="outbox.prune")
    scheduler.add_job(enqueue_ledger_audit_job, "interval", hours=1, id="ledger.audit")
    scheduler.add_job(enqueue_due_orders_job, "interval", seconds=2, id="orders.enqueue_due")
    scheduler.add_job(enqueue_overdue_orders_job, "interval", seconds=30, id="orders.expire_overdue")
    scheduler.add_job(enqueue_unsettled_orders_job, "interval", seconds=15, id="ledger.reconcile_settlements")
    scheduler.add_job(enqueue_rate_refresh_job, "interval", seconds=60, id="rates.refresh")
    scheduler.add_job(enqueue_stats_refresh_job, "interval", seconds=10, id="stats.refresh")
    scheduler.add_job(enqueue_due_callbacks_job, "interval", seconds=1, id="callbacks.enqueue_due")
    scheduler.add_job(prune_idempotency_keys_job, "interval", hours=1, id="idempotency.prune")
    scheduler.add_job(enqueue_deposit_polls_job, "interval", seconds=1, id="wallet.poll_deposits")
    scheduler.add_job(enqueue_daily_payouts_job, "interval", seconds=60, id="wallet.daily_payouts")
    scheduler.add_job(enqueue_reconcile_job, "interval", minutes=5, id="wallet.reconcile")
    return scheduler


async def run_scheduler(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler = build_scheduler(settings)
    scheduler.start()
    log.info("scheduler started", extra={"jobs": [job.id for job in scheduler.get_jobs()]})
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await close_resources()
        log.info("scheduler stopped")
