from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from jivapay.settings import Settings


def async_database_url(url: str) -> str:
    """``postgresql://…`` → ``postgresql+asyncpg://…`` (the only driver we run on)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg"))


# A connection that sat in the pool this long is pinged before use (a restarted or failed-over
# server, a NAT that dropped it); one in steady use is not. SQLAlchemy's pool_pre_ping would
# ping on every checkout — with asyncpg that is BEGIN, a statement and ROLLBACK, three round
# trips on top of every transaction of the hot paths.
IDLE_PING_SECONDS = 10.0
_CHECKED_IN_AT = "jivapay_checked_in_at"


def _ping_idle_connections(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN_AT)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool replaces it and tries again
            raise DisconnectionError("an idle pooled connection is gone") from exc


def create_engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    engine = create_async_engine(
        async_database_url(settings.require_database_url()),
        pool_size=pool_size or settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "jivapay"}},
    )
    _ping_idle_connections(engine)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: entry points read results after the commit without a reload
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


async def ping(session: AsyncSession) -> None:
    """One round trip to the server (readiness): raises when the database does not answer."""
    await session.execute(text("SELECT 1"))
