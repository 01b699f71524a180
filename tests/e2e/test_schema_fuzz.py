"""schemathesis over the gateway and merchant operations of a live `jivapay api`: no 5xx, and
every documented response matches its schema (bounded examples per operation)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.domain.identity.roles import Role
from tests.e2e.conftest import free_port, jivapay_env, spawn_jivapay
from tests.factories import bearer, make_api_key, make_store, make_user, token_for

EXAMPLES = int(os.environ.get("JIVAPAY_FUZZ_EXAMPLES", "12"))
PREFIXES = ("/gateway/", "/merchant/")


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(log.read_text())


def _fuzz_one(base: str, operation: Any, headers: dict[str, str], prepare: Any = None) -> str | None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        if "wait" in (case.query or {}):
            case.query["wait"] = 0  # long-polls would only slow the fuzzing down
        if prepare is not None:
            prepare(case)
        response = case.call(base_url=base, headers=headers, timeout=30)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    try:
        run()
    except Exception as exc:
        return f"{operation.method.upper()} {operation.path}: {exc}"[:2000]
    return None


def _fuzz(base: str, operations: list[Any], headers_for: Any, prepare: Any = None) -> list[str]:
    found = (_fuzz_one(base, operation, headers_for(operation.path), prepare) for operation in operations)
    return [failure for failure in found if failure]


async def _run_api(tmp_path: Path, check: Any) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    api = spawn_jivapay(["api", "--port", str(port)], jivapay_env(), tmp_path, log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, api, log)
        schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
        failures = check(base, [result.ok() for result in schema.get_all_operations()])
        assert not failures, "\n\n".join(failures) + log.read_text()[-6000:]
        assert "Traceback" not in log.read_text(), log.read_text()[-5000:]
    finally:
        api.terminate()
        try:
            api.wait(timeout=20)
        except subprocess.TimeoutExpired:
            api.kill()


@pytest.mark.timeout(600)
async def test_gateway_and_merchant_operations_keep_their_contract(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    merchant = await make_user(session_factory, Role.MERCHANT)
    store_id = await make_store(session_factory, merchant.id)
    _, api_key = await make_api_key(session_factory, merchant.id, store_id)
    headers = {"X-API-Key": api_key, **bearer(await token_for(client, Role.MERCHANT, merchant.login))}

    def check(base: str, all_operations: list[Any]) -> list[str]:
        operations = [
            o
            for o in all_operations
            if o.path.startswith(PREFIXES) and not o.path.endswith("/api-keys/{key_id}")  # revoking locks us out
        ]
        assert len(operations) >= 15
        return _fuzz(base, operations, lambda _: headers)

    await _run_api(tmp_path, check)


# staff operations; the admin's user management is left out (deactivating or anonymizing the
# caller would lock the fuzzer out), the rest of /admin is in
STAFF_PREFIXES = ("/support/", "/teamlead/", "/admin/")
STAFF_EXCLUDED = ("/admin/users", "/admin/ip-blocks")


@pytest.mark.timeout(900)
async def test_staff_operations_keep_their_contract(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    tokens = {}
    for role in (Role.SUPPORT, Role.TEAMLEAD, Role.ADMIN):
        user = await make_user(session_factory, role)
        tokens[f"/{role.value}/"] = bearer(await token_for(client, role, user.login))

    def check(base: str, all_operations: list[Any]) -> list[str]:
        operations = [
            o
            for o in all_operations
            if o.path.startswith(STAFF_PREFIXES) and not o.path.startswith(STAFF_EXCLUDED) and "/auth/" not in o.path
        ]
        assert len(operations) >= 30
        return _fuzz(base, operations, lambda path: next(h for p, h in tokens.items() if path.startswith(p)))

    await _run_api(tmp_path, check)


# the rest: the trader's cabinet, the admin's user management and IP blocks, sessions and the
# login endpoints; together with the two tests above every operation of the API is fuzzed
REST_PREFIXES = (
    "/trader/",
    "/admin/users",
    "/admin/ip-blocks",
    "/auth/",
    "/merchant/auth/",
    "/support/auth/",
    "/health",
    "/ready",
)
REST_LAST = ("/auth/logout", "/auth/password")  # they end the caller's session: fuzzed last


def fuzzed_by_some_test(path: str) -> bool:
    staff = path.startswith(STAFF_PREFIXES) and not path.startswith(STAFF_EXCLUDED) and "/auth/" not in path
    return path.startswith(PREFIXES) or staff or path.startswith(REST_PREFIXES) or "/auth/" in path


@pytest.mark.timeout(900)
async def test_trader_user_management_and_session_operations_keep_their_contract(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    import ipaddress

    trader = await make_user(session_factory, Role.TRADER)
    admin = await make_user(session_factory, Role.ADMIN)
    victim = await make_user(session_factory, Role.MERCHANT)  # stands in for the fuzzing admin itself
    tokens = {
        "/trader/": bearer(await token_for(client, Role.TRADER, trader.login)),
        "/admin/": bearer(await token_for(client, Role.ADMIN, admin.login)),
    }
    sessions = bearer(await token_for(client, Role.TEAMLEAD, (await make_user(session_factory, Role.TEAMLEAD)).login))

    def prepare(case: Any) -> None:
        params = case.path_parameters or {}
        if params.get("user_id") == admin.id:  # deactivating or anonymizing itself would end the run
            params["user_id"] = victim.id
        body = case.body if isinstance(case.body, dict) else {}
        try:
            if "ip" in body and isinstance(body["ip"], str) and ipaddress.ip_address(body["ip"]).is_loopback:
                body["ip"] = "198.51.100.77"  # blocking the fuzzer's own address would end the run
        except ValueError:
            pass

    def check(base: str, all_operations: list[Any]) -> list[str]:
        missed = sorted({o.path for o in all_operations if not fuzzed_by_some_test(o.path)})
        assert not missed, f"operations no fuzz test covers: {missed}"
        operations = [o for o in all_operations if o.path.startswith(REST_PREFIXES) or "/auth/" in o.path]
        operations.sort(key=lambda o: o.path in REST_LAST)
        assert len(operations) >= 20

        def headers_for(path: str) -> dict[str, str]:
            return next((h for p, h in tokens.items() if path.startswith(p)), sessions)

        return _fuzz(base, operations, headers_for, prepare)

    await _run_api(tmp_path, check)
