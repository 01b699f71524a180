"""Every process stops on its own, promptly and completely, on SIGINT (Ctrl-C) and on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.conftest import free_port, jivapay_env, spawn_jivapay

pytestmark = pytest.mark.slow
START_TIMEOUT = 90
STOP_WITHIN_SECONDS = 10  # generous: an idle process needs a few seconds at most, on a busy machine


def _http_ok(url: str) -> Callable[[Path], bool]:
    def ready(_: Path) -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def _logged(text: str, times: int = 1) -> Callable[[Path], bool]:
    return lambda log: log.read_text(errors="replace").count(text) >= times


def _wait(process: subprocess.Popen[bytes], ready: Callable[[Path], bool], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited before it was ready:\n{log.read_text(errors='replace')}"
        if ready(log):
            return
        time.sleep(0.2)
    raise AssertionError(f"not ready in {START_TIMEOUT}s:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals, log: Path, *, group: bool) -> None:
    """Send ``sig`` to the leader (docker, `up`) or to its whole process group (a terminal's Ctrl-C,
    systemd): the process must exit by itself, its children with it."""
    tree = psutil.Process(process.pid).children(recursive=True)
    started = time.monotonic()
    if group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    try:
        code = process.wait(timeout=STOP_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise AssertionError(f"still running {STOP_WITHIN_SECONDS}s after {sig.name}:\n{log.read_text()}") from None
    took = time.monotonic() - started
    _, alive = psutil.wait_procs(tree, timeout=2)
    for leftover in alive:
        leftover.kill()
    assert not alive, f"left behind after {sig.name}: {[(p.pid, p.name()) for p in alive]}"
    # uvicorn re-raises the signal once it has shut down, so a supervisor sees why it ended
    assert code in (0, 130, -sig), (
        f"exit code {code} after {sig.name} ({took:.1f}s):\n{log.read_text(errors='replace')}"
    )


STOPS = [
    pytest.param(sig, group, id=f"{sig.name}-{'group' if group else 'leader'}")
    for sig in (signal.SIGINT, signal.SIGTERM)
    for group in (False, True)
]


@pytest.mark.parametrize(("sig", "group"), STOPS)
def test_api_stops_promptly(tmp_path: Path, sig: signal.Signals, group: bool) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    process = spawn_jivapay(["api", "--port", str(port)], jivapay_env(), tmp_path, log)
    try:
        _wait(process, _http_ok(f"http://127.0.0.1:{port}/health"), log)
        _stop(process, sig, log, group=group)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_two_api_processes_share_the_port_and_stop_together(tmp_path: Path, sig: signal.Signals) -> None:
    """`jivapay api --workers 2`: two processes answer on one port, /metrics (from either) counts
    the requests of both (prometheus_client's multiprocess files), and a signal to the leader
    stops them all."""
    port = free_port()
    log = tmp_path / "api.log"
    metrics_dir = tmp_path / "metrics"
    env = jivapay_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    process = spawn_jivapay(["api", "--port", str(port), "--workers", "2"], env, tmp_path, log)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(process, _http_ok(f"{base}/health"), log)
        deadline = time.monotonic() + START_TIMEOUT
        while len(psutil.Process(process.pid).children(recursive=True)) < 2:
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        for _ in range(40):  # new connections: the kernel spreads them over both processes
            assert httpx.get(f"{base}/health").status_code == 200
        served = {path.name.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
        assert len(served) >= 2, sorted(metrics_dir.iterdir())  # one file per process that counted
        text = httpx.get(f"{base}/metrics").text
        counted = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("jivapay_requests_total{") and 'path="/health"' in line
        ]
        assert sum(counted) >= 40, text[:2000]
        _stop(process, sig, log, group=False)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.parametrize(("sig", "group"), STOPS)
def test_worker_stops_promptly(tmp_path: Path, sig: signal.Signals, group: bool) -> None:
    port = free_port()
    log = tmp_path / "worker.log"
    env = jivapay_env(WORKER_METRICS_PORT=str(port), WORKER_METRICS_HOST="127.0.0.1")
    process = spawn_jivapay(["worker", "--processes", "2", "--threads", "2"], env, tmp_path, log)
    try:
        metrics = _http_ok(f"http://127.0.0.1:{port}/metrics")
        _wait(process, lambda log: _logged("is ready for action", 3)(log) and metrics(log), log)
        _stop(process, sig, log, group=group)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.parametrize("after", [0.0, 0.5, 1.5], ids=lambda s: f"{s}s-into-the-boot")
def test_worker_stopped_while_it_boots_exits_at_once(tmp_path: Path, after: float) -> None:
    """SIGTERM to the group while the worker processes still import every actor (seconds, many
    on a busy machine): they end at once instead of finishing the boot, and the copy of the
    request dramatiq's main process relays afterwards is not taken for a kill that never exits
    (how the chaos test's restarted worker once stayed up 20 s after SIGTERM)."""
    log = tmp_path / "worker.log"
    process = spawn_jivapay(["worker", "--processes", "2", "--threads", "2"], jivapay_env(), tmp_path, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while len(psutil.Process(process.pid).children(recursive=True)) < 2:  # dramatiq has forked them
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.02)
        time.sleep(after)
        _stop(process, signal.SIGTERM, log, group=True)
        text = log.read_text(errors="replace")
        assert "Killing worker process" not in text, text
        assert "second stop request" not in text, text
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.parametrize(("sig", "group"), STOPS)
def test_scheduler_stops_promptly(tmp_path: Path, sig: signal.Signals, group: bool) -> None:
    log = tmp_path / "scheduler.log"
    process = spawn_jivapay(["scheduler"], jivapay_env(), tmp_path, log)
    try:
        _wait(process, _logged("scheduler started"), log)
        _stop(process, sig, log, group=group)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_up_stops_promptly(tmp_path: Path, sig: signal.Signals) -> None:
    """`up` on the test servers (the embedded ones are covered by test_up): api, worker, scheduler.
    Its children run in sessions of their own, so its process group is `up` alone."""
    port = free_port()
    log = tmp_path / "up.log"
    env = jivapay_env(JIVAPAY_PORT=str(port), JIVAPAY_DATA_DIR=str(tmp_path / ".jivapay"))
    process = spawn_jivapay(["up"], env, tmp_path, log)
    try:
        _wait(process, _logged("JivaPay is up."), log)
        _stop(process, sig, log, group=False)
        assert "stopped." in log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
