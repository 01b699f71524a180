"""The optional filters of a list query: a filter that is not given (None) narrows nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def where_equal(stmt: S, conditions: Mapping[InstrumentedAttribute[Any], object]) -> S:
    """``column == value`` for every condition whose value is given."""
    for column, value in conditions.items():
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def where_in_period(
    stmt: S, column: InstrumentedAttribute[dt.datetime], start: dt.datetime | None, end: dt.datetime | None
) -> S:
    """``start <= column < end``, each bound when given."""
    if start is not None:
        stmt = stmt.where(column >= start)
    if end is not None:
        stmt = stmt.where(column < end)
    return stmt
