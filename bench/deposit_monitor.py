"""The deposit monitor's throughput and memory as the number of deposit addresses grows.

anvil (a local EVM chain) holds a USDT-like token (18 decimals, as on BSC); each block carries
one batchTransfer of 500 token transfers, 50 of them to our deposit addresses and 450 to
strangers. The monitor (services/wallet/monitor.poll, as the `wallet.poll_deposits` actor runs
it, 1 confirmation) scans the blocks, matches the 500 recipients against our addresses in one
query per step, records and credits the matches through the ledger.

Two phases in one run: 10,000 addresses, then 1,000,000. Each phase times a poll over
`--blocks` new blocks (transfers read per second), then measures the poll's peak Python
memory (tracemalloc) over a further `--memory-blocks` blocks. The baseline is the 10k phase:
the ratio shows the cost does not grow with the addresses. The target: 10x BSC's block rate,
500 transfers every 0.3 s = 1,667 transfers/s.

Uses JIVAPAY_TEST_DATABASE_URL / JIVAPAY_TEST_REDIS_URL when set, embedded servers otherwise;
anvil from npm (`npm ci`).  uv run python bench/deposit_monitor.py [--addresses 1000000] [--blocks 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import ServiceHarness

from bench.common import use_harness

PER_BLOCK = 500
OURS_PER_BLOCK = 50
BSC_BLOCK_SECONDS = 3.0
TARGET = PER_BLOCK / (BSC_BLOCK_SECONDS / 10)  # transfers/s at ten times BSC's block rate


def _addresses(count: int, seed: int) -> list[str]:
    from web3 import Web3

    rng = random.Random(seed)
    return [Web3.to_checksum_address(rng.randbytes(20).hex()) for _ in range(count)]


async def _add_addresses(database_url: str, addresses: list[str], first_index: int) -> None:
    import asyncpg

    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        records = [
            ("trader", first_index + n + 1, "evm", first_index + n, address)  # one address per owner and family
            for n, address in enumerate(addresses)
        ]
        await connection.copy_records_to_table(
            "wallet_addresses",
            records=records,
            columns=["owner_type", "owner_id", "family", "derivation_index", "address"],
        )
        await connection.execute("ANALYZE wallet_addresses")
    finally:
        await connection.close()


def _fill_blocks(anvil: Any, token: str, ours: list[str], blocks: int, rng: random.Random) -> None:
    funder = anvil.accounts[1]
    sent = []
    for _ in range(blocks):
        recipients = rng.sample(ours, OURS_PER_BLOCK) + _addresses(PER_BLOCK - OURS_PER_BLOCK, rng.randrange(2**32))
        rng.shuffle(recipients)
        amounts = [rng.randrange(1, 1000) * 10**18 for _ in recipients]
        sent.append(anvil.batch_transfer(token, funder, recipients, amounts))  # automine: one block each
    for tx_hash in sent:
        while (receipt := anvil.rpc("eth_getTransactionReceipt", tx_hash)) is None:
            time.sleep(0.05)
        if int(receipt["status"], 16) != 1:
            raise RuntimeError(f"batchTransfer {tx_hash} failed")


async def _poll(network: Any) -> Any:
    from jivapay.adapters.chains.clients import client_for
    from jivapay.adapters.resources import get_resources
    from jivapay.services.wallet.monitor import poll

    return await poll(network, get_resources().session_factory, client_for, max_steps=10_000)


async def _phase(anvil: Any, token: str, ours: list[str], blocks: int, memory_blocks: int) -> dict[str, Any]:
    from jivapay.networks import get_network

    network = get_network("BEP20")
    assert network is not None
    rng = random.Random(len(ours))
    await _poll(network)  # catch up: the cursor stands at the head
    _fill_blocks(anvil, token, ours, blocks, rng)
    started = time.perf_counter()
    report = await _poll(network)
    elapsed = time.perf_counter() - started
    assert report.transfers == blocks * PER_BLOCK, report
    assert report.credited == blocks * OURS_PER_BLOCK, report
    _fill_blocks(anvil, token, ours, memory_blocks, rng)
    tracemalloc.start()
    await _poll(network)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "addresses": len(ours),
        "transfers": report.transfers,
        "credited": report.credited,
        "seconds": round(elapsed, 3),
        "transfers_per_second": round(report.transfers / elapsed, 1),
        "blocks_per_second": round(blocks / elapsed, 2),
        "peak_python_mib": round(peak / 2**20, 2),
    }


async def _run(args: argparse.Namespace, harness: ServiceHarness, anvil: Any, token: str) -> list[dict[str, Any]]:
    from jivapay.adapters.resources import close_resources

    phases = []
    small = _addresses(10_000, 1)
    await _add_addresses(harness.database_url, small, 0)
    phases.append(await _phase(anvil, token, small, args.blocks, args.memory_blocks))
    print(json.dumps(phases[-1]), flush=True)
    started = time.perf_counter()
    rest = _addresses(args.addresses - len(small), 2)
    await _add_addresses(harness.database_url, rest, len(small))
    print(f"added {len(rest)} addresses in {time.perf_counter() - started:.1f} s", flush=True)
    phases.append(await _phase(anvil, token, small + rest, args.blocks, args.memory_blocks))
    print(json.dumps(phases[-1]), flush=True)
    await close_resources()
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--memory-blocks", type=int, default=10)
    args = parser.parse_args()

    from tests.fixtures.chains import ensure_anvil

    from jivapay.devchain import Anvil

    ensure_anvil()
    harness = ServiceHarness()
    harness.start()
    anvil = Anvil(chain_id=56, gas_limit=1_000_000_000)
    try:
        token = anvil.deploy_token(18)
        anvil.mint(token, anvil.accounts[1], 10**40)
        networks = harness.tmp / "networks.toml"
        networks.write_text(
            f'[networks.BEP20]\ntoken_contract = "{token}"\nconfirmations = 1\nmax_block_range = 50\n'
            f"start_block = {anvil.head() + 1}\n"
        )
        use_harness(harness, WALLET_NETWORKS_FILE=str(networks), CHAIN_BEP20_RPC_URLS=anvil.url)
        os.environ.pop("WALLET_MNEMONIC", None)
        from jivapay.adapters.db.migrations import upgrade_to_head

        upgrade_to_head(harness.database_url)
        small, large = asyncio.run(_run(args, harness, anvil, token))
    finally:
        anvil.close()
        harness.stop()
    print(
        f"10k addresses: {small['transfers_per_second']} transfers/s, peak {small['peak_python_mib']} MiB; "
        f"{large['addresses']} addresses: {large['transfers_per_second']} transfers/s, "
        f"peak {large['peak_python_mib']} MiB; target {TARGET:.0f} transfers/s (10x BSC's block rate)"
    )
    print(
        json.dumps(
            {
                "metric": "deposit_monitor_transfers_per_second_at_1m_addresses",
                "value": large["transfers_per_second"],
                "unit": "transfers/s",
                "baseline": small["transfers_per_second"],
                "ratio": round(large["transfers_per_second"] / small["transfers_per_second"], 3),
                "target": round(TARGET),
                "keeps_up": large["transfers_per_second"] >= TARGET,
                "peak_python_mib": {"10k": small["peak_python_mib"], "1m": large["peak_python_mib"]},
            }
        )
    )


if __name__ == "__main__":
    main()
