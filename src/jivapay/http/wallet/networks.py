"""The wallet's networks as operators see them: GET /admin/wallet/networks and the /metrics gauges."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Annotated

from litestar import get
from litestar.params import Parameter
from prometheus_client import Gauge

from jivapay.adapters.chains.clients import client_for
from jivapay.adapters.chains.keys import key_provider
from jivapay.adapters.resources import get_resources
from jivapay.http.deps import transaction
from jivapay.http.guards import FINANCES
from jivapay.networks import enabled_networks
from jivapay.services.wallet.status import NetworkStatus, network_statuses
from jivapay.services.wallet.treasury import (
    NetworkTreasury,
    SweepView,
    network_treasury,
    recent_sweeps,
    treasury_snapshots,
)

log = logging.getLogger("jivapay.wallet.metrics")
_LABEL = ("network",)


def _gauge(name: str, documentation: str, labels: tuple[str, ...]) -> Gauge:
    """A gauge set from the database when /metrics is read: with several API processes
    (prometheus_client's multiprocess files) the latest value counts, not one per process."""
    return Gauge(name, documentation, labels, multiprocess_mode="mostrecent")


GAUGES = {
    "enabled": _gauge("jivapay_wallet_network_enabled", "1 when the network has RPC URLs and is polled", _LABEL),
    "scanned_height": _gauge("jivapay_wallet_scanned_height", "The last block the deposit monitor scanned", _LABEL),
    "chain_head": _gauge("jivapay_wallet_chain_head", "The chain head at the last successful poll", _LABEL),
    "lag_blocks": _gauge("jivapay_wallet_lag_blocks", "Blocks between the chain head and the scanned height", _LABEL),
    "last_success": _gauge(
        "jivapay_wallet_last_success_timestamp_seconds", "Unix time of the last successful poll", _LABEL
    ),
    "rpc_errors": _gauge("jivapay_wallet_rpc_errors", "RPC calls that failed (any URL), since the start", _LABEL),
    "pending": _gauge("jivapay_wallet_deposits_pending", "Deposits seen and waiting for confirmations", _LABEL),
    "credited": _gauge("jivapay_wallet_deposits_credited", "Deposits credited to the ledger, since the start", _LABEL),
}


TREASURY_GAUGES = {
    "hot_usdt": _gauge("jivapay_wallet_hot_wallet_usdt", "USDT on the network's hot wallet (last snapshot)", _LABEL),
    "tank_native": _gauge(
        "jivapay_wallet_gas_tank_native", "Native coin (wei or sun) in the gas tank (last snapshot)", _LABEL
    ),
    "difference": _gauge(
        "jivapay_wallet_reconciliation_difference_usdt",
        "USDT on chain minus what the ledger says our addresses hold (last snapshot)",
        _LABEL,
    ),
    "flagged": _gauge("jivapay_wallet_reconciliation_flagged", "1 when the last reconciliation found a gap", _LABEL),
}
NATIVE_SPENT_GAUGE = _gauge(
    "jivapay_wallet_native_spent",
    "Native coin (wei or sun) spent on the network, ever, by kind (see docs/wallet.md; last snapshot)",
    ("network", "kind"),
)


async def refresh_gauges() -> None:
    """Read the monitors' state into the gauges (on each scrape; a database hiccup skips it)."""
    try:
        async with get_resources().session_factory() as session:
            statuses = await network_statuses(session)
    except Exception:  # /metrics must answer even when the database does not
        log.warning("wallet metrics not refreshed", exc_info=True)
        return
    for s in statuses:
        values = {
            "enabled": 1 if s.enabled else 0,
            "scanned_height": s.scanned_height,
            "chain_head": s.chain_head,
            "lag_blocks": s.lag_blocks,
            "last_success": s.last_success_at.timestamp() if s.last_success_at else None,
            "rpc_errors": s.rpc_errors,
            "pending": s.deposits_pending,
            "credited": s.deposits_credited,
        }
        for name, value in values.items():
            if value is not None:
                GAUGES[name].labels(network=s.network).set(value)
    try:
        snapshots = await treasury_snapshots(get_resources().redis)
    except Exception:  # a Redis hiccup leaves the last values
        log.warning("treasury metrics not refreshed", exc_info=True)
        return
    for t in snapshots:
        TREASURY_GAUGES["hot_usdt"].labels(network=t["network"]).set(float(Decimal(t["hot_wallet"]["usdt"])))
        TREASURY_GAUGES["tank_native"].labels(network=t["network"]).set(float(t["gas_tank"]["native"]))
        TREASURY_GAUGES["difference"].labels(network=t["network"]).set(float(Decimal(t["difference"])))
        TREASURY_GAUGES["flagged"].labels(network=t["network"]).set(1 if t["flagged"] else 0)
        for kind, value in t.get("native_spent", {}).items():
            NATIVE_SPENT_GAUGE.labels(network=t["network"], kind=kind).set(float(value))


@get(
    "/wallet/networks",
    operation_id="admin_wallet_networks",
    tags=["admin"],
    guards=FINANCES,
    summary="Each network's deposit monitor: heights, lag, last poll, errors, deposits",
)
async def admin_networks() -> list[NetworkStatus]:
    async with transaction() as session:
        return await network_statuses(session)


@get(
    "/wallet/treasury",
    operation_id="admin_wallet_treasury",
    tags=["admin"],
    guards=FINANCES,
    summary="Per open network: hot wallet and gas tank on chain, queue, sweeps, and chain vs ledger",
)
async def admin_treasury() -> list[NetworkTreasury]:
    """Read live from the chains (a few seconds with many unswept addresses)."""
    resources = get_resources()
    keys = key_provider(resources.settings.wallet_mnemonic, resources.settings.wallet_mnemonic_passphrase)
    return [
        await network_treasury(network, resources.session_factory, client_for, keys) for network in enabled_networks()
    ]


@get(
    "/wallet/sweeps",
    operation_id="admin_wallet_sweeps",
    tags=["admin"],
    guards=FINANCES,
    summary="The latest sweeps (newest first): status, why one is stuck, fuel, transactions and gas paid",
)
async def admin_sweeps(
    network: Annotated[str | None, Parameter(max_length=20)] = None,
    limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
) -> list[SweepView]:
    async with transaction() as session:
        return await recent_sweeps(session, network, limit)


admin_handlers = [admin_networks, admin_treasury, admin_sweeps]
