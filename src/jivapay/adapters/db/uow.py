"""The unit of work: one transaction that commits once or rolls back, and logs which."""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from jivapay.adapters.db import raw
from jivapay.adapters.db.errors import db_errors_translated

log = logging.getLogger("jivapay.db")

AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "jivapay.after_commit"


def on_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` after the session's transaction commits (never if it rolls back).

    For side effects outside the database that must not happen for a rolled-back change,
    such as cache invalidation. Failures are logged, never raised: the commit stands.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@contextlib.asynccontextmanager
async def atomic(session_factory: async_sessionmaker[AsyncSession], *, name: str = "tx") -> AsyncIterator[AsyncSession]:
    """Open a session and a transaction; commit when the block exits cleanly, else roll back.

    Database errors leave as domain errors (Conflict, NotFound, DatabaseError).
    """
    started = time.perf_counter()
    async with session_factory() as session:
        log.debug("transaction begin", extra={"tx": name})
        try:
            with db_errors_translated():
                yield session
                await session.commit()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await session.rollback()
            log.debug("transaction rollback", extra={"tx": name, "error": type(exc).__name__})
            raise
        log.debug("transaction commit", extra={"tx": name, "ms": round((time.perf_counter() - started) * 1000, 2)})
        for callback in session.info.pop(_AFTER_COMMIT, []):
            try:
                await callback()
            except Exception:
                log.exception("after-commit callback failed", extra={"tx": name})


@contextlib.asynccontextmanager
async def reading(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads only, without a transaction: no BEGIN and COMMIT round trips (a
    one-statement read is one trip). Each statement sees what was committed when it started —
    exactly what a READ COMMITTED transaction (ours) gives its statements; what it cannot give is
    a lock (SELECT … FOR UPDATE) or a write: those belong in ``atomic``.

    ORM statements run on an autocommit connection; statements of ``adapters.db.raw`` on a pooled
    driver connection of their own (no ORM connection is made for a session that has only those).
    """
    engine = session_factory.kw["bind"]
    async with session_factory(bind=_autocommit(engine)) as session:
        session.info[raw.READING] = engine
        try:
            with db_errors_translated():
                yield session
        finally:
            await raw.release(session)


_autocommit_engines: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` (the same pool) with every connection in autocommit while it is checked out."""
    found = _autocommit_engines.get(engine)
    if found is None:
        found = _autocommit_engines[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found
