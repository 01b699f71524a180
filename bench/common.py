"""What the benchmarks share: the environment, percentiles, and clients spread over processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
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


RESULT_FILE = "JIVAPAY_BENCH_RESULT_FILE"


def emit_result(result: dict[str, Any]) -> None:
    """A benchmark process's result, where ``run_in_processes`` reads it: a file of its own
    (stdout is shared with anything the process logs, and a long line can be interleaved)."""
    Path(os.environ[RESULT_FILE]).write_text(json.dumps(result))


def run_in_processes(
    script: str, ids: list[int], clients: int, processes: int
) -> tuple[float, list[float], list[dict[str, Any]]]:
    """Run ``script --worker CLIENTS IDS`` in ``processes`` processes, as the worker runs them.

    Each writes one JSON object with ``latencies``, ``started`` and ``finished`` (wall clock,
    process start-up excluded) through ``emit_result``. Returns (elapsed from first start to
    last finish, all latencies, every process's result).
    """
    per_process = max(clients // processes, 1)
    with tempfile.TemporaryDirectory(prefix="jivapay-bench-") as folder:
        files = [Path(folder) / f"{n}.json" for n in range(processes)]
        children = [
            subprocess.Popen(
                [sys.executable, script, "--worker", str(per_process), ",".join(map(str, ids[n::processes]))],
                env={**os.environ, RESULT_FILE: str(files[n])},
            )
            for n in range(processes)
        ]
        for child in children:
            if child.wait() != 0:
                for other in children:  # none writes into the folder once it is gone
                    other.kill()
                    other.wait()
                raise RuntimeError(f"a benchmark process failed ({script})")
        results = [json.loads(file.read_text()) for file in files]
    latencies = [latency for result in results for latency in result["latencies"]]
    elapsed = max(r["finished"] for r in results) - min(r["started"] for r in results)
    return elapsed, latencies, results
