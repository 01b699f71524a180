"""Statements run on the driver: parameter numbering and error translation."""

from __future__ import annotations

import asyncpg

from jivapay.adapters.db.errors import translate_db_error
from jivapay.adapters.db.raw import RawStatement
from jivapay.domain.errors import Conflict, DatabaseError, ValidationFailed


def test_named_parameters_become_numbered_once_each() -> None:
    statement = RawStatement("SELECT :a, CAST(:b AS bigint[]), '{}'::jsonb, x::text, :a + :c WHERE y = :b")
    assert statement.sql == "SELECT $1, CAST($2 AS bigint[]), '{}'::jsonb, x::text, $1 + $3 WHERE y = $2"
    assert statement.names == ("a", "b", "c")
    assert statement.arguments({"c": 3, "b": [2], "a": 1, "unused": 0}) == [1, [2], 3]


def test_driver_errors_translate_like_sqlalchemy_ones() -> None:
    assert isinstance(translate_db_error(asyncpg.UniqueViolationError("dup")), Conflict)
    assert isinstance(translate_db_error(asyncpg.DeadlockDetectedError("deadlock")), DatabaseError)
    assert isinstance(translate_db_error(asyncpg.SerializationError("serialization")), DatabaseError)
    assert isinstance(translate_db_error(asyncpg.NumericValueOutOfRangeError("too big")), ValidationFailed)
    assert isinstance(translate_db_error(asyncpg.ConnectionDoesNotExistError("gone")), DatabaseError)
    assert translate_db_error(asyncpg.UndefinedTableError("a bug")) is None
