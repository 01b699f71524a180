"""The API's own throughput, measured with wrk (a C load generator), next to its baselines in one run.

Starts the platform as processes (``jivapay api``, ``jivapay worker``, ``jivapay scheduler``,
as ``jivapay up`` runs them) on a fresh database with the rate limits lifted, then drives it with
``wrk`` (2 threads, ``--connections`` connections, ``--seconds`` each):

- the bare baseline: a Litestar app answering ``GET /health`` (bench/hello.py), one uvicorn
  process, same venv; and ``jivapay api``'s own ``GET /health``;
- authenticated reads: ``GET /gateway/store`` and ``GET /gateway/payin/status/{id}`` (API key),
  ``GET /merchant/orders`` first page (a merchant's bearer token); ratio to the bare baseline
  (target ≥ 0.15);
- ``POST /gateway/payin/init`` sustained while the worker assigns every order (unique
  merchant_order_id and Idempotency-Key per request, bench/wrk/jivapay.lua); ratio to pgbench
  TPC-B-like TPS with 8 clients on the same server (target ≥ 0.10), 0 non-2xx, and p99 at 8
  connections (target < 50 ms);
- the authenticated reads again with ``jivapay api --workers 2`` (target ≥ 1.6× one process).

    uv run python bench/gateway.py [--seconds 10] [--connections 32] [--skip-two]

wrk comes from Debian (``apt-get install wrk``). Uses JIVAPAY_TEST_DATABASE_URL /
JIVAPAY_TEST_REDIS_URL when set (the Redis db is flushed first), embedded servers otherwise.
Prints each figure, then one JSON object per metric (metric, value, unit, baseline, ratio); the
last line is the pay-in init's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from tests.chaos.platform import Platform, platform_env
from tests.chaos.world import PASSWORD, World, WorldSpec, create_world
from tests.e2e.conftest import REPO, free_port, run_jivapay
from tests.services import ServiceHarness

from bench.ledger import _pgbench

SCRIPT = Path(__file__).resolve().parent / "wrk" / "jivapay.lua"
CONFIG: dict[str, Any] = {
    "RATE_LIMIT_DEFAULT": "1000000000/minute",
    "RATE_LIMIT_LOGIN": "1000000000/minute",
    "IP_BLOCK_THRESHOLD": 1_000_000_000,
    "FRAUD_VELOCITY_MAX_PER_IP": 1_000_000_000,
}


def wrk(
    base: str, path: str, seconds: float, connections: int, *args: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """One wrk run: its done() line (requests, seconds, non2xx, latency_us) plus requests/s."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    command = [binary, "-t", "2", "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command += ["-s", str(SCRIPT), base + path, "--", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


@contextlib.contextmanager
def profiled(pid: int | None, folder: Path | None, name: str) -> Iterator[None]:
    """py-spy samples the process ``pid`` (and its children) while the block runs: the collapsed
    stacks go to ``folder/name.txt`` and a summary (the functions most often on the stack) is printed."""
    if pid is None or folder is None:
        yield
        return
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = folder / f"{name}.txt"
    spy = subprocess.Popen(
        [binary, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "200",
         "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)  # attached
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    print(summarize(out))


def summarize(collapsed: Path, top: int = 25) -> str:
    """The functions found most often on the sampled stacks (inclusive), with their own share."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [_frame(frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])[:top]
    lines = [f"  profile {collapsed.stem}: {total} samples; inclusive% own% function"]
    lines += [f"  {100 * n / total:5.1f} {100 * own.get(f, 0) / total:5.1f}  {f}" for f, n in ranked]
    return "\n".join(lines)


def _frame(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name


def _line(name: str, result: dict[str, Any]) -> str:
    latency = result["latency_us"]
    return (
        f"{name}: {result['rps']:.0f} req/s, p50 {latency['p50'] / 1000:.1f} ms, p99 {latency['p99'] / 1000:.1f} ms, "
        f"{result['non2xx']} non-2xx, {result['socket_errors'] + result['timeouts']} socket errors"
    )


def _wait_up(base: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{base} did not come up")


@contextlib.contextmanager
def bare_hello() -> Iterator[str]:
    """bench/hello.py under uvicorn, one process, as ``jivapay api`` runs (uvloop, httptools)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.hello:app", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_up(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _first_order(base: str, api_key: str) -> str:
    body = {"amount": "1234.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "bench-first"}
    answer = httpx.post(f"{base}/gateway/payin/init", json=body, headers={"X-API-Key": api_key}, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["id"])


def _merchant_token(base: str) -> str:
    answer = httpx.post(
        f"{base}/merchant/auth/token", data={"username": "chaos-merchant", "password": PASSWORD}, timeout=30
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _reads(
    base: str, world: World, order_id: str, token: str, args: argparse.Namespace, pid: int | None = None
) -> dict[str, dict[str, Any]]:
    key = {"X-API-Key": world.stores[0].api_key}
    bearer = {"Authorization": f"Bearer {token}"}
    runs = {
        "GET /gateway/store": ("/gateway/store", key),
        "GET /gateway/payin/status/{id}": (f"/gateway/payin/status/{order_id}", key),
        "GET /merchant/orders": ("/merchant/orders", bearer),
    }
    results = {}
    for name, (path, headers) in runs.items():
        with profiled(pid, args.profile, _slug(name)):
            results[name] = wrk(base, path, args.seconds, args.connections, headers=headers)
    return results


def _slug(name: str) -> str:
    return name.split(" ", 1)[1].strip("/").replace("/", "_").replace("{id}", "id").replace(".", "_")


async def _orders_by_status(database_url: str, since: str) -> dict[str, int]:
    import asyncpg

    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await connection.fetch(
            "SELECT status, count(*) AS n FROM incoming_orders WHERE merchant_order_id LIKE $1 GROUP BY status",
            f"{since}-%",
        )
    finally:
        await connection.close()
    return {row["status"]: row["n"] for row in rows}


async def _wait_assigned(database_url: str, tag: str, within: float = 120) -> dict[str, int]:
    """The worker's backlog of this run's pay-ins, waited for (bounded): counts by status."""
    deadline = time.monotonic() + within
    while True:
        counts = await _orders_by_status(database_url, tag)
        if (not counts.get("new") and not counts.get("retrying")) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(1)


def _metric(metric: str, value: float, unit: str, baseline: float) -> dict[str, Any]:
    return {
        "metric": metric,
        "value": round(value, 1),
        "unit": unit,
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 3) if baseline else None,
    }


def _world(args: argparse.Namespace, harness: ServiceHarness, workdir: Path) -> tuple[dict[str, str], World]:
    import redis

    redis.Redis.from_url(harness.redis_url).flushdb()
    env = platform_env(harness.database_url, harness.redis_url, workdir / "data", LOG_LEVEL=args.log_level)
    done = run_jivapay(["migrate"], env, REPO, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(done.stdout + done.stderr)
    spec = WorldSpec(
        stores=1,
        traders=args.traders,
        requisites_per_trader=5,
        trader_collateral_usdt=10**8,
        store_float_usdt=10**6,
        max_open_orders=1_000_000,
        config=CONFIG,
    )
    return env, create_world(spec, env)


@contextlib.contextmanager
def platform(env: dict[str, str], logs: Path, api_workers: int = 1) -> Iterator[Platform]:
    """api, worker (2 processes × 4 threads) and scheduler, as ``jivapay up`` runs them."""
    running = Platform(env, logs, workers=1, worker_processes=2, worker_threads=4)
    if api_workers != 1:
        running.processes["api"].args += ["--workers", str(api_workers)]
    try:
        running.start()
        asyncio.run(running.wait_ready())
        time.sleep(2)  # the worker and the scheduler finish booting
        yield running
    finally:
        asyncio.run(running.stop())
        running.stop_now()


def _one_process(
    args: argparse.Namespace, env: dict[str, str], world: World, harness: ServiceHarness, workdir: Path
) -> dict[str, Any]:
    """The reads against one API process, after a short burst of pay-ins (the merchant's list has a
    history to page through); the order and token the later runs reuse."""
    found: dict[str, Any] = {}
    key = {"X-API-Key": world.stores[0].api_key}
    with platform(env, workdir / "logs") as running:
        base = running.base_url
        found["order_id"] = _first_order(base, world.stores[0].api_key)
        wrk(base, "/gateway/payin/init", 3, 8, "payin", "history", headers=key)
        asyncio.run(_wait_assigned(harness.database_url, "history"))  # the worker is idle again
        token = _merchant_token(base)
        api = running.processes["api"].process
        pid = api.pid if api else None
        wrk(base, "/health", 2, args.connections)  # warm-up
        with profiled(pid, args.profile, "health"):
            found["health"] = wrk(base, "/health", args.seconds, args.connections)
        print(_line("jivapay api GET /health", found["health"]))
        found["reads"] = _reads(base, world, found["order_id"], token, args, pid)
        for name, result in found["reads"].items():
            print(_line(name, result))
    return found


def _inits(
    args: argparse.Namespace, env: dict[str, str], world: World, harness: ServiceHarness, workdir: Path
) -> dict[str, Any]:
    """Pay-in inits against one API process while the worker assigns every order."""
    found: dict[str, Any] = {}
    key = {"X-API-Key": world.stores[0].api_key}
    init = "/gateway/payin/init"
    with platform(env, workdir / "logs-init") as running:
        base = running.base_url
        api = running.processes["api"].process
        pid = api.pid if api else None
        wrk(base, init, 2, 8, "payin", "warm", headers=key)
        with profiled(pid, args.profile, "payin_init"):
            found["init"] = wrk(base, init, args.seconds, args.connections, "payin", "b32", headers=key)
        found["init_8"] = wrk(base, init, args.seconds, 8, "payin", "b8", headers=key)
        counts = {tag: asyncio.run(_wait_assigned(harness.database_url, tag)) for tag in ("b32", "b8")}
        print(_line(f"POST /gateway/payin/init ({args.connections} connections)", found["init"]))
        print(_line("POST /gateway/payin/init (8 connections)", found["init_8"]))
        print(f"pay-ins by status after the worker caught up: {counts}")
        found["rss"] = running.rss()
    return found


def _two_processes(
    args: argparse.Namespace, env: dict[str, str], world: World, order_id: str, workdir: Path
) -> dict[str, dict[str, Any]]:
    with platform(env, workdir / "logs-2", api_workers=2) as running:
        base = running.base_url
        token = _merchant_token(base)
        wrk(base, "/gateway/store", 2, args.connections, headers={"X-API-Key": world.stores[0].api_key})
        two = _reads(base, world, order_id, token, args)
    for name, result in two.items():
        print(_line(f"{name} (2 API processes)", result))
    return two


def run(args: argparse.Namespace, harness: ServiceHarness, workdir: Path) -> list[dict[str, Any]]:
    env, world = _world(args, harness, workdir)
    with bare_hello() as hello_base:
        wrk(hello_base, "/health", 2, args.connections)  # warm-up
        hello = wrk(hello_base, "/health", args.seconds, args.connections)
    print(_line("bare Litestar GET /health (1 process)", hello))
    one = _one_process(args, env, world, harness, workdir)
    two = {} if args.skip_two else _two_processes(args, env, world, one["order_id"], workdir)
    one.update(_inits(args, env, world, harness, workdir))
    tps = _pgbench(harness, 8, args.pgbench_seconds)
    print(f"pgbench tpcb-like, 8 clients, same server: {tps:.1f} tps")
    print(f"RSS at the end (MiB): { {name: round(value / 2**20) for name, value in one['rss'].items()} }")

    metrics = [_metric("api_health_requests_per_second", one["health"]["rps"], "requests/s", hello["rps"])]
    for name, result in one["reads"].items():
        metrics.append(_metric(f"{_slug(name)}_requests_per_second", result["rps"], "requests/s", hello["rps"]))
    for name, result in two.items():
        metric = f"{_slug(name)}_two_processes_requests_per_second"
        metrics.append(_metric(metric, result["rps"], "requests/s", one["reads"][name]["rps"]))
    metrics.append(_metric("payin_init_p99_8_connections", one["init_8"]["latency_us"]["p99"] / 1000, "ms", 50.0))
    metrics.append(_metric("payin_init_requests_per_second", one["init"]["rps"], "requests/s", tps))
    runs = [one["init"], one["init_8"], *one["reads"].values(), *two.values()]
    failed = sum(r["non2xx"] + r["socket_errors"] + r["timeouts"] for r in runs)
    print(f"non-2xx responses and socket errors, all runs: {failed}")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--traders", type=int, default=20)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--skip-two", action="store_true", help="skip the two-API-process run")
    parser.add_argument("--log-level", default="INFO", help="the platform's LOG_LEVEL (INFO, as deployed)")
    parser.add_argument("--profile", type=Path, help="sample the API with py-spy into this folder and print summaries")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    harness = ServiceHarness()
    harness.start()
    try:
        with tempfile.TemporaryDirectory(prefix="jivapay-bench-http-") as folder:
            metrics = run(args, harness, Path(folder))
    finally:
        harness.stop()
    for metric in metrics:
        print(json.dumps(metric))


if __name__ == "__main__":
    main()
