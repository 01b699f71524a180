"""A worker killed with SIGKILL in the middle of a batch loses no order (real processes)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from jivapay.adapters.db.models import Hold, IncomingOrder, OrderHistory, Requisite
from tests.e2e.conftest import jivapay_env, spawn_jivapay
from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound

ORDERS = 400


async def _statuses(world: World) -> Counter[str]:
    async with world.session_factory() as session:
        rows = (await session.execute(select(IncomingOrder.status, func.count()).group_by(IncomingOrder.status))).all()
    return Counter(dict(rows))


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def test_sigkilled_worker_loses_no_order(world: World, tmp_path: Path) -> None:
    # a short lease: the scheduler re-sends what the dead worker had taken after 3 s
    await world.configure(
        ORDER_ASSIGN_LEASE_SECONDS=3, MAX_ORDER_RETRIES=100, RETRY_BASE_DELAY_SECONDS=1, RETRY_BACKOFF_FACTOR=1
    )
    for _ in range(10):
        trader = await world.trader()
        for _ in range(5):
            await world.requisite(trader, limits={"max_open_orders": 10})
    for n in range(ORDERS):
        await world.incoming(100_000 + n * 100, merchant_order_id=f"k{n}")

    env = jivapay_env(OUTBOX_RELAY_INTERVAL_SECONDS="1")
    scheduler = spawn_jivapay(["scheduler"], env, tmp_path, tmp_path / "scheduler.log")
    worker = spawn_jivapay(["worker", "--processes", "2", "--threads", "2"], env, tmp_path, tmp_path / "worker1.log")
    restarted: subprocess.Popen[bytes] | None = None
    try:
        # wait until the batch is being worked on, then kill the whole worker tree without warning
        deadline = time.monotonic() + 90
        while (await _statuses(world))["assigned"] < 20:
            assert worker.poll() is None, (tmp_path / "worker1.log").read_text()
            assert time.monotonic() < deadline, "the worker never started assigning"
            await asyncio.sleep(0.02)
        _stop(worker, signal.SIGKILL)
        at_kill = await _statuses(world)
        assert at_kill["assigned"] < ORDERS, "the batch finished before the kill: nothing was tested"

        restarted = spawn_jivapay(
            ["worker", "--processes", "2", "--threads", "2"], env, tmp_path, tmp_path / "worker2.log"
        )
        deadline = time.monotonic() + 120
        while (statuses := await _statuses(world))["assigned"] < ORDERS:
            assert restarted.poll() is None, (tmp_path / "worker2.log").read_text()
            assert time.monotonic() < deadline, f"orders left behind after the restart: {statuses}"
            await asyncio.sleep(0.2)
    finally:
        for process in (worker, restarted, scheduler):
            if process is not None:
                _stop(process)

    assert statuses == Counter({"assigned": ORDERS}), statuses
    async with world.session_factory() as session:
        orders = (await session.scalars(select(OrderHistory))).all()
        holds = (await session.scalars(select(Hold))).all()
        requisites = (await session.scalars(select(Requisite))).all()
        incoming_orders = (await session.scalars(select(IncomingOrder))).all()
    # one order per incoming order, each with exactly one active hold on its trader's collateral
    assert len(orders) == ORDERS
    assert {o.incoming_order_id for o in orders} == {i.id for i in incoming_orders}
    assert {i.order_id for i in incoming_orders} == {o.id for o in orders}
    assert sorted(h.reference for h in holds) == sorted(f"order:{o.id}" for o in orders)
    assert all(h.status == "active" for h in holds)
    # the counters match the orders and never exceed a limit
    per_requisite = Counter(o.requisite_id for o in orders)
    for requisite in requisites:
        assert requisite.open_orders == per_requisite[requisite.id]
        assert requisite.open_orders <= 10
    await assert_ledger_sound(world.session_factory)
