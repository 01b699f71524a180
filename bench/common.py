"""What the benchmarks share: the environment, percentiles, and clients spread over processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.services import ServiceHarness


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)]


def use_harness(harness: ServiceHarness, **extra: str) -> None:
    """Point jivapay's settings at the benchmark's servers (before anything reads them)."""
    os.environ.update(
        {
            "JIVAPAY_ENV": "test",
            "DATABASE_URL": harness.database_url,
            "REDIS_URL": harness.redis_url,
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "console",
            **extra,
        }
    )


def run_in_processes(
    script: str, ids: list[int], clients: int, processes: int
) -> tuple[float, list[float], list[dict[str, Any]]]:
    """Run ``script --worker CLIENTS IDS`` in ``processes`` processes, as the worker runs them.

    Each prints one JSON object with ``latencies``, ``started`` and ``finished`` (wall clock,
    process start-up excluded). Returns (elapsed from first start to last finish, all
    latencies, every process's result).
    """
    per_process = max(clients // processes, 1)
    children = [
        subprocess.Popen(
            [sys.executable, script, "--worker", str(per_process), ",".join(map(str, ids[n::processes]))],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for n in range(processes)
    ]
    results = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"a benchmark process failed ({script})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    latencies = [latency for result in results for latency in result["latencies"]]
    elapsed = max(r["finished"] for r in results) - min(r["started"] for r in results)
    return elapsed, latencies, results
