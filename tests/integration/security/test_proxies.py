"""X-Forwarded-For is believed only from FORWARDED_ALLOW_IPS: `jivapay api` under uvicorn, as deployed."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import LoginAttempt
from jivapay.domain.identity.roles import Role
from tests.e2e.conftest import free_port, jivapay_env, spawn_jivapay
from tests.factories import PASSWORD, make_user

FORGED = "203.0.113.50"


def _serve(tmp_path: Path, forwarded_allow_ips: str | None) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = tmp_path / "api.log"
    env = jivapay_env(FORWARDED_ALLOW_IPS=forwarded_allow_ips)
    api = spawn_jivapay(["api", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path, log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        assert api.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return api, base, log
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    api.kill()
    raise AssertionError(log.read_text())


@pytest.mark.parametrize(
    ("forwarded_allow_ips", "seen"),
    [
        (None, "127.0.0.1"),  # default: nobody is a trusted proxy, not even localhost
        ("10.0.0.0/8", "127.0.0.1"),  # a proxy is configured, but the caller is not it
        ("127.0.0.1", FORGED),  # the caller is the configured proxy: its X-Forwarded-For counts
    ],
)
async def test_the_login_history_records_the_forwarded_ip_only_from_a_trusted_proxy(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path, forwarded_allow_ips: str | None, seen: str
) -> None:
    merchant = await make_user(session_factory, Role.MERCHANT)
    api, base, log = _serve(tmp_path, forwarded_allow_ips)
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            answer = await http.post(
                "/merchant/auth/token",
                data={"username": merchant.login, "password": PASSWORD},
                headers={"X-Forwarded-For": FORGED, "X-Forwarded-Proto": "https"},
            )
        assert answer.status_code == 200, answer.text
    finally:
        api.terminate()
        try:
            api.wait(timeout=20)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait(timeout=10)
    async with session_factory() as session:
        ips = (await session.scalars(select(LoginAttempt.ip).where(LoginAttempt.user_id == merchant.id))).all()
    assert [str(ip) for ip in ips] == [seen], log.read_text()[-3000:]
