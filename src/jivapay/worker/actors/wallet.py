"""Wallet actors: one deposit poll and one withdrawal check per network (the scheduler sends them),
what follows a credit (the owner's e-mail) or a reorg that removed a credited deposit (the
operators' alert), sending an approved withdrawal, and the owner's e-mail on each of its steps."""

from __future__ import annotations

from jivapay.adapters.chains.clients import client_for
from jivapay.adapters.chains.keys import KeyProvider, key_provider
from jivapay.adapters.email import EmailSender
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import NotificationError
from jivapay.networks import enabled_networks, get_network
from jivapay.services.wallet import deposits, payouts, sender, sweeper, treasury, withdrawals
from jivapay.services.wallet.monitor import poll
from jivapay.worker.actors.base import jivapay_actor

SENT_KEY = "jivapay:email:deposit:{}:{}"


@jivapay_actor("wallet.poll_deposits", queue="wallet", max_retries=0, time_limit_ms=120_000)
async def poll_deposits(network: str) -> None:
    """One poll of ``network`` (safe to run twice: see services/wallet/monitor.py). Not retried:
    the scheduler sends the next poll; a chain outage is recorded on the network's cursor."""
    configured = get_network(network)
    if configured is None or not configured.enabled:
        return
    await poll(configured, get_resources().session_factory, client_for)


@jivapay_actor("wallet.deposit_credited", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def deposit_credited(deposit_id: int) -> None:
    """E-mail the owner once (the merchant callback was queued with the credit itself)."""
    resources = get_resources()
    key = SENT_KEY.format("credited", deposit_id)
    if await resources.redis.exists(key):
        return
    async with resources.session_factory() as session:
        spec = await deposits.credited_email(session, deposit_id)
    if spec is not None:
        await EmailSender(resources.settings).send(spec)
    await resources.redis.set(key, "1", ex=30 * 86_400)


@jivapay_actor("wallet.deposit_alert", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def deposit_alert(deposit_id: int) -> None:
    """E-mail the operators (ALERT_EMAILS) about a credited deposit a reorg removed; once."""
    resources = get_resources()
    key = SENT_KEY.format("alert", deposit_id)
    if await resources.redis.exists(key):
        return
    recipients = [a.strip() for a in resources.settings.alert_emails.split(",") if a.strip()]
    async with resources.session_factory() as session:
        spec = await deposits.reorg_alert_email(session, deposit_id, recipients)
    if spec is not None:
        await EmailSender(resources.settings).send(spec)
    await resources.redis.set(key, "1", ex=30 * 86_400)


def _keys() -> KeyProvider:
    settings = get_resources().settings
    return key_provider(settings.wallet_mnemonic, settings.wallet_mnemonic_passphrase)


@jivapay_actor("wallet.send_withdrawal", queue="wallet", max_retries=3, time_limit_ms=120_000)
async def send_withdrawal(withdrawal_id: int) -> None:
    """Sign once and send an approved withdrawal (exactly one transfer: services/wallet/sender.py)."""
    await sender.send_one(get_resources().session_factory, client_for, _keys(), withdrawal_id)


@jivapay_actor("wallet.check_withdrawals", queue="wallet", max_retries=0, time_limit_ms=120_000)
async def check_withdrawals(network: str) -> None:
    """The scheduler's pass over a network's withdrawals: send, re-send, speed up, confirm, fail."""
    configured = get_network(network)
    if configured is None or not configured.enabled:
        return
    await sender.check(configured, get_resources().session_factory, client_for, _keys())


@jivapay_actor("wallet.withdrawal_notice", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def withdrawal_notice(withdrawal_id: int, event: str) -> None:
    """E-mail the owner about a withdrawal's transition, once per withdrawal and event."""
    resources = get_resources()
    key = SENT_KEY.format(f"withdrawal-{event}", withdrawal_id)
    if await resources.redis.exists(key):
        return
    async with resources.session_factory() as session:
        spec = await withdrawals.notice_email(session, withdrawal_id, event)
    if spec is not None:
        await EmailSender(resources.settings).send(spec)
    await resources.redis.set(key, "1", ex=30 * 86_400)


@jivapay_actor("wallet.sweep", queue="wallet", max_retries=0, time_limit_ms=300_000)
async def sweep(network: str) -> None:
    """One sweep pass of a network: deposit addresses' USDT to the hot wallet, gas fueled first."""
    configured = get_network(network)
    if configured is None or not configured.enabled:
        return
    await sweeper.sweep_pass(configured, get_resources().session_factory, client_for, _keys())


@jivapay_actor("wallet.daily_payouts", queue="wallet", max_retries=0, time_limit_ms=300_000)
async def daily_payouts() -> None:
    """Today's payout for every store whose hour has come (once per store and day, however often sent)."""
    await payouts.run_due(get_resources().session_factory)


@jivapay_actor("wallet.reconcile", queue="wallet", max_retries=0, time_limit_ms=600_000)
async def reconcile() -> None:
    """Every few minutes: each open network's hot wallet, gas tank and chain-vs-ledger snapshot
    (for /metrics), with a warning for a gap."""
    resources = get_resources()
    await treasury.snapshot_all(enabled_networks(), resources.session_factory, client_for, _keys(), resources.redis)
