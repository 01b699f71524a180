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


def test_text_inside_literals_comments_and_quoted_names_is_left_alone() -> None:
    sql = (
        "SELECT ':not_a' AS x, 'it''s :still_not' AS y, E'\\':nor_this' AS z, $$ :nope $$, "
        '$fn$ :nope_either $fn$, "odd:name", :real::int, :real2::numeric(20, 8)\n'
        "-- :commented\n"
        "/* :block\n :comment */ FROM t WHERE kind = :kind AND note LIKE '%:x%' AND typE = :e"
    )
    statement = RawStatement(sql)
    assert statement.names == ("real", "real2", "kind", "e")
    for kept in (
        "':not_a'",
        "'it''s :still_not'",
        "E'\\':nor_this'",
        "$$ :nope $$",
        "$fn$ :nope_either $fn$",
        '"odd:name"',
        "-- :commented",
        "/* :block\n :comment */",
    ):
        assert kept in statement.sql, kept
    assert "$1::int, $2::numeric(20, 8)" in statement.sql
    assert "kind = $3 AND note LIKE '%:x%' AND typE = $4" in statement.sql


def test_driver_errors_translate_like_sqlalchemy_ones() -> None:
    assert isinstance(translate_db_error(asyncpg.UniqueViolationError("dup")), Conflict)
    assert isinstance(translate_db_error(asyncpg.DeadlockDetectedError("deadlock")), DatabaseError)
    assert isinstance(translate_db_error(asyncpg.SerializationError("serialization")), DatabaseError)
    assert isinstance(translate_db_error(asyncpg.NumericValueOutOfRangeError("too big")), ValidationFailed)
    assert isinstance(translate_db_error(asyncpg.ConnectionDoesNotExistError("gone")), DatabaseError)
    assert translate_db_error(asyncpg.UndefinedTableError("a bug")) is None
