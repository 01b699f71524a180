"""The job path through real processes: commit → scheduler relays → worker runs the actor."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import OutboxMessage
from jivapay.adapters.db.uow import atomic
from jivapay.services.platform.outbox import enqueue_after_commit
from jivapay.worker.actors.platform import PING_KEY
from tests.e2e.conftest import jivapay_env, spawn_jivapay


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    env = jivapay_env(OUTBOX_RELAY_INTERVAL_SECONDS="1")
    running = {
        "worker": spawn_jivapay(["worker", "--processes", "1", "--threads", "2"], env, tmp_path, tmp_path / "w.log"),
        "scheduler": spawn_jivapay(["scheduler"], env, tmp_path, tmp_path / "s.log"),
    }
    yield running
    for process in running.values():
        if process.poll() is None:
            _stop(process)


async def test_committed_job_runs_in_the_worker_process(
    processes: dict[str, subprocess.Popen[bytes]],
    session_factory: async_sessionmaker[AsyncSession],
    resources: Any,
    tmp_path: Path,
) -> None:
    async with atomic(session_factory) as session:
        await enqueue_after_commit(session, "system.ping", ping_id="e2e")
    ran = None
    for _ in range(300):
        ran = await resources.redis.get(PING_KEY.format("e2e"))
        if ran is not None:
            break
        assert all(p.poll() is None for p in processes.values()), (tmp_path / "w.log").read_text()
        await asyncio.sleep(0.1)
    logs = (tmp_path / "w.log").read_text() + (tmp_path / "s.log").read_text()
    assert ran is not None, logs
    async with session_factory() as session:
        row = (await session.scalars(select(OutboxMessage))).one()
    assert row.sent_at is not None
    # both stop cleanly on SIGTERM
    assert _stop(processes["scheduler"]) == 0
    assert _stop(processes["worker"]) == 0
