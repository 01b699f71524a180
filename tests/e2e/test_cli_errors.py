"""Misconfiguration fails fast with one clear line, not a traceback wall."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import jivapay_env, run_jivapay


def _one_line_error(result: object, needle: str) -> None:
    stderr = result.stderr.strip()  # type: ignore[attr-defined]
    assert result.returncode == 2, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("jivapay: error: ")
    assert needle in stderr


@pytest.mark.parametrize("command", ["api", "worker", "scheduler", "migrate", "seed"])
def test_malformed_database_url(workdir: Path, command: str) -> None:
    result = run_jivapay([command], jivapay_env(DATABASE_URL="mysql://root@localhost/x"), workdir)
    _one_line_error(result, "DATABASE_URL")


@pytest.mark.parametrize("command", ["api", "migrate", "seed"])
def test_missing_database_url(workdir: Path, command: str) -> None:
    result = run_jivapay([command], jivapay_env(DATABASE_URL=None), workdir)
    _one_line_error(result, "DATABASE_URL is required")


def test_unreachable_database(workdir: Path) -> None:
    result = run_jivapay(["api"], jivapay_env(DATABASE_URL="postgresql://postgres@127.0.0.1:1/jivapay"), workdir)
    _one_line_error(result, "DATABASE_URL: cannot connect to PostgreSQL at 127.0.0.1:1")


@pytest.mark.parametrize("command", ["api", "worker", "scheduler"])
def test_unreachable_redis(workdir: Path, command: str) -> None:
    env = jivapay_env(REDIS_URL="redis://127.0.0.1:1/0", BROKER_URL=None)
    result = run_jivapay([command], env, workdir)
    _one_line_error(result, "REDIS_URL: cannot connect to Redis at 127.0.0.1:1")


def test_missing_secret_key_in_production(workdir: Path) -> None:
    result = run_jivapay(["api"], jivapay_env(JIVAPAY_ENV="production", SECRET_KEY=None), workdir)
    _one_line_error(result, "SECRET_KEY is required in production")


def test_bad_value_in_dotenv_file_is_named(workdir: Path) -> None:
    (workdir / ".env").write_text("JIVAPAY_PORT=not-a-port\n")
    result = run_jivapay(["api"], jivapay_env(JIVAPAY_PORT=None), workdir)
    _one_line_error(result, "JIVAPAY_PORT must be an integer")


def test_up_with_an_unreachable_database_url_stops_at_once(workdir: Path) -> None:
    result = run_jivapay(["up"], jivapay_env(DATABASE_URL="postgresql://postgres@127.0.0.1:1/jivapay"), workdir)
    assert result.returncode == 2
    assert "DATABASE_URL: cannot connect to PostgreSQL at 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_seed_creates_the_first_admin_once(workdir: Path) -> None:
    env = jivapay_env(INITIAL_ADMIN_LOGIN="root-admin", INITIAL_ADMIN_PASSWORD=None)
    first = run_jivapay(["seed"], env, workdir)
    assert first.returncode == 0, first.stderr
    assert "created admin 'root-admin' with password " in first.stdout
    second = run_jivapay(["seed"], env, workdir)
    assert second.returncode == 0
    assert "created admin" not in second.stdout


def test_ledger_audit_passes_then_fails_on_tampering(workdir: Path) -> None:
    import asyncio

    import asyncpg

    env = jivapay_env()
    ok = run_jivapay(["ledger", "audit"], env, workdir)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ledger audit passed" in ok.stdout

    async def tamper() -> None:
        connection = await asyncpg.connect(env["DATABASE_URL"])
        try:
            await connection.execute(
                "INSERT INTO accounts (owner_type, owner_id, currency, kind, balance) VALUES ('store', 1, 'USDT', "
                "'available', 5)"
            )
        finally:
            await connection.close()

    asyncio.run(tamper())
    failed = run_jivapay(["ledger", "audit"], env, workdir)
    assert failed.returncode == 1
    assert "FAIL balance_equals_entries: 1 violation(s)" in failed.stdout
    assert "ledger audit FAILED" in failed.stdout
