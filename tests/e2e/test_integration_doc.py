"""docs/integration.md's curl commands, run in order against a live `jivapay api`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import ExchangeRate
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.storage import storage_for
from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.requisites import RequisiteDirection, RequisiteType
from jivapay.domain.orders.status import Party, is_order_reference
from jivapay.domain.platform.audit import Actor
from jivapay.services.ledger import posting
from jivapay.services.orders import receipts
from jivapay.services.orders.processing import process_incoming_order
from jivapay.services.orders.requisites import create_requisite
from jivapay.services.orders.status import change_status
from jivapay.settings import get_settings
from tests.e2e.conftest import REPO, free_port, jivapay_env, spawn_jivapay
from tests.factories import PASSWORD, incoming_of, make_user

BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
SETS = re.compile(r"^# sets (\w+) from \.([\w.]+)$", re.MULTILINE)


def _field(document: Any, path: str) -> str:
    for part in path.split("."):
        document = document[part]
    return str(document)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_every_curl_example_works(
    seeded: None, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    merchant, trader = await doc_world(session_factory)
    port = free_port()
    log = tmp_path / "api.log"
    api = spawn_jivapay(["api", "--port", str(port)], jivapay_env(), tmp_path, log)
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "JIVAPAY": base, "MERCHANT_LOGIN": merchant.login, "MERCHANT_PASSWORD": PASSWORD}
    try:
        async with httpx.AsyncClient(timeout=1) as http:
            for _ in range(300):
                assert api.poll() is None, log.read_text()
                try:
                    if (await http.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        blocks = BLOCK.findall((REPO / "docs" / "integration.md").read_text())
        assert len(blocks) >= 8
        for number, block in enumerate(blocks, 1):
            if "payout/init" in block:  # the store needs USDT for a pay-out (deposits arrive over a chain)
                async with atomic(session_factory) as session:
                    store_id = int(env["STORE_ID"])
                    await posting.credit_deposit(session, "store", store_id, "TRC20", 100 * 10**6, "doc-float")
            if "payin/confirm" in block:  # the worker's part: a trader's requisite is assigned
                assert is_order_reference(env["ORDER_ID"])  # the one public reference, never a row id
                outcome = await process_incoming_order(
                    session_factory, await _incoming_id(session_factory, env["ORDER_ID"])
                )
                assert outcome.status == "assigned", outcome
            if "payout/confirm" in block:  # the trader's part: assigned, paid with a receipt, marked paid
                await _trader_pays_out(
                    session_factory, await _incoming_id(session_factory, env["PAYOUT_ID"]), trader.id
                )
            done = await asyncio.to_thread(
                subprocess.run,
                ["bash", "-euo", "pipefail", "-c", block.replace("curl -s ", "curl -sS -w '\\n%{http_code}' ")],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, f"step {number} failed: {done.stderr}\n{block}"
            body, _, status = done.stdout.rstrip("\n").rpartition("\n")
            assert status.startswith("2"), f"step {number} answered {status}: {body}\n{block}"
            for name, path in SETS.findall(block):
                env[name] = _field(json.loads(body), path)
        assert "Traceback" not in log.read_text()
    finally:
        api.terminate()
        try:
            api.wait(timeout=20)
        except subprocess.TimeoutExpired:
            api.kill()


async def doc_world(session_factory: async_sessionmaker[AsyncSession]) -> tuple[Any, Any]:
    """What the guide's flow needs besides the merchant's own steps: (merchant, trader) users, a RUB
    rate, and a trader in work with collateral and a card requisite."""
    merchant = await make_user(session_factory, Role.MERCHANT)
    trader = await make_user(session_factory, Role.TRADER, profile={"in_work": True})
    async with atomic(session_factory) as session:
        session.add(ExchangeRate(currency="RUB", rate=Decimal("90"), source="manual"))
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 1_000 * 10**6, f"doc-{trader.id}")
        await create_requisite(
            session,
            get_settings(),
            Actor.system("tests"),
            trader_id=trader.id,
            type_=RequisiteType.CARD,
            bank_id=1,
            payment_method_id=1,
            currency="RUB",
            owner_name="Ivan Petrov",
            number="4276160000000019",
            direction=RequisiteDirection.BOTH,
            limits={},
        )
    return merchant, trader


async def _incoming_id(session_factory: async_sessionmaker[AsyncSession], reference: str) -> int:
    return int((await incoming_of(session_factory, reference)).id)


async def _trader_pays_out(session_factory: async_sessionmaker[AsyncSession], payout_id: int, trader_id: int) -> None:
    outcome = await process_incoming_order(session_factory, payout_id)
    assert outcome.status == "assigned", outcome
    assert outcome.order_id is not None
    trader = Actor.user(trader_id)
    await receipts.upload_receipt(
        session_factory,
        storage_for(get_settings()),
        order_id=outcome.order_id,
        party=Party.TRADER,
        actor=trader,
        data=b"%PDF-1.4 paid",
        content_type="application/pdf",
        trader_id=trader_id,
    )
    async with atomic(session_factory) as session:
        await change_status(
            session, outcome.order_id, "trader_paid", party=Party.TRADER, actor=trader, trader_id=trader_id
        )
