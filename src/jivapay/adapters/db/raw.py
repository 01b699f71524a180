"""The hottest statements straight on the session's asyncpg connection, in its transaction
(on a ``uow.reading`` session: on a pooled connection outside any transaction).

A SQLAlchemy ``execute`` of a prebuilt ``text()`` costs about four times the CPU of the same
statement through asyncpg (the result machinery, parameter processing, events). Order
assignment and ledger postings run a handful of fixed statements hundreds of times a
second, so their repositories run them here: same connection, same transaction, same
error translation (``adapters.db.errors``) — only the Python overhead is gone.

Statements are written with ``:name`` parameters like ``text()`` and turned into ``$n``
once, at import; text inside string literals (``'…'``, ``E'…'``, ``$tag$…$tag$``), quoted
identifiers and comments is left as it is, and so are ``::type`` casts. asyncpg prepares
each statement once per connection and keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import greenlet_spawn

# what is skipped (literals, quoted names, comments, casts) or a :name parameter, left to right
_TOKEN = re.compile(
    r"""
    (?P<skip>
        (?<!\w)[Ee]'(?:[^'\\]|\\.|'')*'    # E'…' with backslash escapes
      | '(?:[^']|'')*'                      # '…'
      | "(?:[^"]|"")*"                      # "quoted identifier"
      | \$\$.*?\$\$                         # $$…$$
      | \$(?P<tag>[A-Za-z_]\w*)\$.*?\$(?P=tag)\$   # $tag$…$tag$
      | --[^\n]*                            # -- comment
      | /\*.*?\*/                           # /* comment */
      | ::                                  # a cast, never a parameter
    )
    | (?<![:\w]):(?P<name>[A-Za-z_]\w*)
    """,
    re.VERBOSE | re.DOTALL,
)
_CONNECTION = "jivapay.raw_connection"
READING = "jivapay.reading"  # session.info of a uow.reading session: its engine
_HELD = "jivapay.raw_reading_connection"


class RawStatement:
    """SQL with ``:name`` parameters, compiled to asyncpg's ``$n`` form."""

    __slots__ = ("names", "sql")

    def __init__(self, sql: str) -> None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group("name")
            if name is None:
                return match.group(0)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.sql = _TOKEN.sub(number, sql)
        self.names = tuple(names)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


async def _connection(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection, inside the session's transaction; for a ``uow.reading``
    session, a pooled connection of its own outside any transaction (returned when the reading
    ends), so that no ORM connection is made for it at all."""
    engine = session.info.get(READING)
    if engine is not None:
        held = session.info.get(_HELD)
        if held is None:
            held = session.info[_HELD] = await engine.raw_connection()
        reader: asyncpg.Connection = held.driver_connection
        return reader
    cached = session.info.get(_CONNECTION)
    connection = await session.connection()  # begins the session's transaction if needed
    if cached is not None and cached[0] is connection:
        driver: asyncpg.Connection = cached[1]
    else:
        driver = (await connection.get_raw_connection()).driver_connection
        session.info[_CONNECTION] = (connection, driver)
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement: make it send it now
        await connection.exec_driver_sql("SELECT 1")
    return driver


async def release(session: AsyncSession) -> None:
    """Give back the connection a ``uow.reading`` session took for its statements here."""
    held = session.info.pop(_HELD, None)
    if held is not None:
        await greenlet_spawn(held.close)


async def fetch(session: AsyncSession, statement: RawStatement, params: Mapping[str, Any]) -> list[asyncpg.Record]:
    driver = await _connection(session)
    result: list[asyncpg.Record] = await driver.fetch(statement.sql, *statement.arguments(params))
    return result


async def fetchrow(session: AsyncSession, statement: RawStatement, params: Mapping[str, Any]) -> asyncpg.Record | None:
    driver = await _connection(session)
    row: asyncpg.Record | None = await driver.fetchrow(statement.sql, *statement.arguments(params))
    return row


async def execute(session: AsyncSession, statement: RawStatement, params: Mapping[str, Any]) -> None:
    driver = await _connection(session)
    await driver.execute(statement.sql, *statement.arguments(params))
