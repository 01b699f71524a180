"""The worker's Prometheus endpoint: counts from every worker process, and the dead letters."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx

from jivapay.worker.actors.platform import PING_KEY, ping
from tests.e2e.conftest import free_port, jivapay_env, spawn_jivapay


def _sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def _scrape_until(url: str, ready: Any, log: Path, process: subprocess.Popen[bytes]) -> str:
    text = ""
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(600):
            assert process.poll() is None, log.read_text()  # noqa: ASYNC240 - a failure message
            try:
                text = (await client.get(url)).text
            except httpx.TransportError:
                text = ""
            if text and ready(text):
                return text
            await asyncio.sleep(0.1)
    logs = log.read_text()  # noqa: ASYNC240 - a failure message
    raise AssertionError(f"metrics never showed the expected samples:\n{text}\n--- worker log ---\n{logs}")


async def test_worker_serves_message_counts_and_dead_letters(tmp_path: Path, resources: Any) -> None:
    port = free_port()
    env = jivapay_env(WORKER_METRICS_PORT=str(port), WORKER_METRICS_HOST="127.0.0.1")
    log = tmp_path / "worker.log"
    worker = spawn_jivapay(["worker", "--processes", "2", "--threads", "1"], env, tmp_path, log)
    try:
        for n in range(4):
            ping.send(f"metrics-{n}")
        # an actor called with arguments it does not take fails for good: dead-lettered
        ping.send_with_options(kwargs={"unknown": 1})

        def ready(text: str) -> bool:
            return (_sample(text, "jivapay_worker_messages_total", actor_name="system.ping") or 0) >= 5 and (
                _sample(text, "jivapay_worker_messages_dead_lettered_total", actor_name="system.ping") or 0
            ) >= 1

        text = await _scrape_until(f"http://127.0.0.1:{port}/metrics", ready, log, worker)
        for n in range(4):
            assert await resources.redis.get(PING_KEY.format(f"metrics-{n}")) is not None
        assert _sample(text, "jivapay_worker_messages_total", actor_name="system.ping") == 5
        assert _sample(text, "jivapay_worker_message_errors_total", actor_name="system.ping") == 1
        assert _sample(text, "jivapay_worker_messages_retried_total", actor_name="system.ping") in (None, 0)
        assert _sample(text, "jivapay_worker_message_duration_seconds_count", actor_name="system.ping") == 5
        assert _sample(text, "jivapay_worker_dead_letters", queue_name="default") == 1
        assert _sample(text, "jivapay_worker_queue_messages", queue_name="default") == 0
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            assert worker.wait(timeout=30) == 0, log.read_text()
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            raise
