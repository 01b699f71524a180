"""SQLAlchemy/driver errors → the domain's exceptions."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

from jivapay.domain.errors import Conflict, DatabaseError, JivaPayError, NotFound, ValidationFailed

# SQLSTATEs that mean "try again": serialization failure, deadlock, lock timeout, too many connections
# (57P01 admin shutdown, 57P02 crash shutdown, 57P03 "the database system is starting up")
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "53300", "57P01", "57P02", "57P03"}
_CONCURRENCY_SQLSTATES = {"40001", "40P01", "55P03"}


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)


def _constraint(exc: sa_exc.DBAPIError) -> str | None:
    orig = exc.orig
    for candidate in (orig, getattr(orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return None


def _translate_sqlstate(sqlstate: str | None, reason: str) -> JivaPayError | None:
    if sqlstate is not None and sqlstate.startswith("08"):  # connection exceptions: lost, refused, …
        return DatabaseError(reason=reason, sqlstate=sqlstate)
    if sqlstate is not None and sqlstate.startswith("22"):
        # data exceptions: a value the column cannot hold (an id out of range, a string too
        # long) — the caller's input, not our bug
        return ValidationFailed("A value is out of range or too long for its field", sqlstate=sqlstate)
    if sqlstate in _CONCURRENCY_SQLSTATES:
        return DatabaseError(
            "The transaction collided with a concurrent one; retry it", reason=reason, sqlstate=sqlstate
        )
    if sqlstate in _RETRYABLE_SQLSTATES:
        return DatabaseError(reason=reason, sqlstate=sqlstate)
    return None


def _translate_asyncpg(exc: Exception) -> JivaPayError | None:
    """Errors of statements run on the driver directly (``adapters.db.raw``)."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return Conflict("The change conflicts with existing data", constraint=getattr(exc, "constraint_name", None))
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.PostgresConnectionError):
        return DatabaseError(reason=type(exc).__name__)
    if isinstance(exc, asyncpg.PostgresError):
        return _translate_sqlstate(exc.sqlstate, type(exc).__name__)
    return None


def translate_db_error(exc: Exception) -> JivaPayError | None:
    """The domain error for ``exc``, or None when it is a bug that should surface as is."""
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        return _translate_asyncpg(exc)
    if isinstance(exc, sa_exc.IntegrityError):
        constraint = _constraint(exc)
        return Conflict("The change conflicts with existing data", constraint=constraint)
    if isinstance(exc, sa_exc.NoResultFound):
        return NotFound()
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return DatabaseError(reason=type(exc.orig).__name__)
        return _translate_sqlstate(_sqlstate(exc), type(exc.orig).__name__)
    if isinstance(exc, sa_exc.TimeoutError):  # pool exhausted
        return DatabaseError(reason="connection pool timeout")
    if isinstance(exc, ConnectionError | OSError | TimeoutError):
        return DatabaseError(reason=type(exc).__name__)
    return None


def _raised_in(exc: BaseException, packages: tuple[str, ...]) -> bool:
    """Whether ``exc`` came up through code of one of ``packages`` (a frame of its traceback)."""
    return any(
        str(frame.f_globals.get("__name__", "")).partition(".")[0] in packages
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def database_outage(exc: BaseException) -> DatabaseError | None:
    """``exc`` as a DatabaseError when it says the database cannot serve — refused, starting up or
    shutting down, connection lost, pool exhausted — wherever it was raised (in a unit of work or
    not: a guard's read, the configuration cache); None for anything else, bugs included."""
    if isinstance(exc, DatabaseError):
        return exc
    if isinstance(exc, sa_exc.SQLAlchemyError | asyncpg.PostgresError | asyncpg.InterfaceError):
        translated = translate_db_error(exc)
        return translated if isinstance(translated, DatabaseError) else None
    # the driver raises a refused or reset connection as is: an OSError from inside asyncpg
    if isinstance(exc, OSError) and _raised_in(exc, ("asyncpg", "sqlalchemy")):
        return DatabaseError(reason=type(exc).__name__)
    return None


@contextlib.contextmanager
def db_errors_translated() -> Iterator[None]:
    try:
        yield
    except JivaPayError:
        raise
    except Exception as exc:
        translated = translate_db_error(exc)
        if translated is None:
            raise
        raise translated from exc
