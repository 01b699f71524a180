"""The platform as real processes (``jivapay api``, workers, ``jivapay scheduler``), supervised.

A supervisor keeps every process up: one that the chaos killed comes back after its pause;
one that died on its own (or could not start while a server was down) is restarted too, and
its exit is recorded. Killing is always the whole process tree, with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import psutil

from tests.e2e.conftest import REPO, free_port, jivapay_env, spawn_jivapay


def platform_env(database_url: str, redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The processes' environment: the test's, on these servers, without what must not leak in."""
    settings: dict[str, str | None] = {
        "JIVAPAY_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BROKER_URL": None,
        "SENTRY_DSN": None,
        "GEOIP_DB_PATH": None,
        "SMTP_HOST": None,
        "PROMETHEUS_MULTIPROC_DIR": None,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "JIVAPAY_DATA_DIR": str(data_dir),
        "SECRET_KEY": "chaos-secret-key-0123456789abcdef0123456789",
        "API_KEY_PEPPER": "chaos-api-key-pepper-0123456789abcdef0123",
        "ARGON2_MEMORY_KIB": "19456",
        "ARGON2_TIME_COST": "2",
        "ARGON2_PARALLELISM": "1",
        "ACCESS_TOKEN_EXPIRE_MINUTES": "240",
        "WORKER_METRICS_PORT": "0",
        "CALLBACK_ALLOW_PRIVATE": "true",
        "OUTBOX_RELAY_INTERVAL_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    return jivapay_env(**(settings | extra))


def kill_tree(pid: int) -> None:
    """SIGKILL a process, its session's group and every descendant (no goodbye for anyone)."""
    try:
        parent = psutil.Process(pid)
        family = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(family, timeout=10)


def tree_rss(pid: int) -> int:
    try:
        parent = psutil.Process(pid)
        family = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


@dataclasses.dataclass
class Managed:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    down_until: float = 0.0  # killed on purpose: restart once this passes
    starts: int = 0
    unexpected_exits: list[str] = dataclasses.field(default_factory=list)
    slow_stops: list[str] = dataclasses.field(default_factory=list)


class Platform:
    def __init__(
        self,
        env: Mapping[str, str],
        logs: Path,
        *,
        workers: int = 2,
        worker_processes: int = 1,
        worker_threads: int = 3,
    ) -> None:
        self.env = dict(env)
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.port = int(self.env.get("JIVAPAY_PORT", "0")) or free_port()
        self.processes: dict[str, Managed] = {"api": Managed("api", ["api", "--port", str(self.port)])}
        for n in range(1, workers + 1):
            self.processes[f"worker-{n}"] = Managed(
                f"worker-{n}", ["worker", "--processes", str(worker_processes), "--threads", str(worker_threads)]
            )
        self.processes["scheduler"] = Managed("scheduler", ["scheduler"])
        self._supervisor: asyncio.Task[None] | None = None
        self.stopping = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, managed: Managed) -> None:
        managed.starts += 1
        managed.log = self.logs / f"{managed.name}.{managed.starts}.log"
        managed.process = spawn_jivapay(managed.args, self.env, REPO, managed.log)

    def start(self) -> None:
        for managed in self.processes.values():
            self._spawn(managed)

    async def wait_ready(self, within: float = 90) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                for name, managed in self.processes.items():
                    if managed.process is not None and managed.process.poll() is not None:
                        raise RuntimeError(f"{name} exited at start:\n{self.tail(name)}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.base_url}/ready")).status_code == 200:
                        return
                await asyncio.sleep(0.3)
        raise RuntimeError(f"the API never became ready:\n{self.tail('api')}")

    def kill(self, name: str, down_seconds: float) -> None:
        """SIGKILL one process tree; the supervisor starts it again after ``down_seconds``."""
        managed = self.processes[name]
        managed.down_until = time.monotonic() + down_seconds
        if managed.process is not None:
            kill_tree(managed.process.pid)
            managed.process.wait()

    async def interrupt(
        self, name: str, down_seconds: float, sig: signal.Signals = signal.SIGINT, within: float = 20
    ) -> float | None:
        """Stop one process gracefully — ``sig`` to its whole group, as a terminal's Ctrl-C (SIGINT)
        or systemd (SIGTERM) does —, wait for it to exit by itself, and have it started again
        ``down_seconds`` later. Seconds it took to exit, or None when it was still running after
        ``within`` seconds (it is then killed)."""
        managed = self.processes[name]
        managed.down_until = float("inf")  # the supervisor leaves it alone meanwhile
        process = managed.process
        took: float | None = 0.0
        if process is not None and process.poll() is None:
            started = time.monotonic()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(asyncio.to_thread(process.wait), within)
                took = time.monotonic() - started
            except TimeoutError:
                took = None
            kill_tree(process.pid)  # what it left behind, if anything
            process.wait()
        if took is None:
            managed.slow_stops.append(f"still running {within:.0f} s after {sig.name} (killed)")
        managed.down_until = time.monotonic() + down_seconds
        return took

    def supervise(self) -> None:
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self) -> None:
        while not self.stopping:
            now = time.monotonic()
            for managed in self.processes.values():
                process = managed.process
                if process is None or process.poll() is None:
                    continue
                if managed.down_until == 0.0:  # nobody killed it: record why it went
                    managed.unexpected_exits.append(f"exit {process.returncode}: {self.tail(managed.name, 3)}")
                    managed.down_until = now + 1.0
                if now >= managed.down_until:
                    managed.down_until = 0.0
                    self._spawn(managed)
            await asyncio.sleep(0.25)

    def tail(self, name: str, lines: int = 30) -> str:
        log = self.processes[name].log
        if log is None or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def all_logs(self) -> list[Path]:
        return sorted(self.logs.glob("*.log"))

    def rss(self) -> dict[str, int]:
        return {
            name: tree_rss(m.process.pid) if m.process is not None and m.process.poll() is None else 0
            for name, m in self.processes.items()
        }

    async def stop(self, within: float = 20) -> dict[str, float | None]:
        """Ctrl-C: SIGINT to every process group, then wait. Seconds each process took to exit, None
        for one still running after ``within`` seconds (it is then killed). Never raises."""
        self.stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(BaseException):
                await self._supervisor
        running = {
            name: m.process for name, m in self.processes.items() if m.process is not None and m.process.poll() is None
        }
        for process in running.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGINT)
        started = time.monotonic()
        exited: dict[str, float | None] = {}
        while len(exited) < len(running) and time.monotonic() - started < within:
            for name, process in running.items():
                if name not in exited and process.poll() is not None:
                    exited[name] = time.monotonic() - started
            await asyncio.sleep(0.1)
        for name in running:
            exited.setdefault(name, None)
        self.stop_now()
        return exited

    def stop_now(self) -> None:
        """SIGKILL what is left of every tree (the finalizer's last word)."""
        self.stopping = True
        for managed in self.processes.values():
            if managed.process is not None:
                kill_tree(managed.process.pid)
                with contextlib.suppress(Exception):
                    managed.process.wait(timeout=5)
