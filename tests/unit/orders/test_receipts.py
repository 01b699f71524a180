"""Uploaded receipts carry no active content: no HTML a browser could sniff, no PDF actions."""

from __future__ import annotations

import zlib

import pytest

from jivapay.domain.errors import ValidationFailed
from jivapay.domain.orders.receipts import find_active_content
from jivapay.services.orders.receipts import check_file

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
MAX = 5 * 1024 * 1024


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (PNG + b"<html><script>alert(document.cookie)</script></html>", "image/png"),
        (PNG + b"\x00" * 300_000 + b"<ScRiPt>alert(1)</ScRiPt>", "image/png"),  # appended at the tail
        (JPEG + b"<svg onload=alert(1)>", "image/jpeg"),
        (JPEG + b"<!DOCTYPE HTML><p>", "image/jpeg"),
        (JPEG + b"<BODY onload=x>", "image/jpeg"),
        (PNG + b"<iframe src=//evil>", "image/png"),
        (PDF + b"<html>", "application/pdf"),
    ],
)
def test_files_with_html_markers_are_refused(data: bytes, content_type: str) -> None:
    assert find_active_content(data, content_type) is not None
    with pytest.raises(ValidationFailed) as refused:
        check_file(data, content_type, MAX)
    assert refused.value.status_code == 422
    assert refused.value.details["field"] == "file"


def _pdf(body: bytes) -> bytes:
    return b"%PDF-1.7\n" + body + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _object_stream(objects: bytes) -> bytes:
    packed = zlib.compress(objects)
    return (
        b"5 0 obj<</Type/ObjStm/N 1/First 4/Filter/FlateDecode/Length "
        + str(len(packed)).encode()
        + b">>stream\n"
        + packed
        + b"\nendstream\nendobj"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"1 0 obj<</Type/Catalog/OpenAction 2 0 R>>endobj",
        b"2 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj",
        b"2 0 obj<</S /JS (x)>>endobj",
        b"3 0 obj<</AA<</O 4 0 R>>>>endobj",
        b"4 0 obj<</S/Launch/F(cmd.exe)>>endobj",
        b"6 0 obj<</Names<</EmbeddedFiles 7 0 R>>>>endobj",
        b"7 0 obj<</Type/EmbeddedFile>>stream\nMZ\nendstream endobj",
        b"1 0 obj<</Type/Catalog/Open#41ction 2 0 R>>endobj",  # #41 is "A": the same name
        _object_stream(b"1 0 <</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>"),
    ],
)
def test_pdfs_with_scripts_or_actions_are_refused(body: bytes) -> None:
    data = _pdf(body)
    assert find_active_content(data, "application/pdf") is not None
    with pytest.raises(ValidationFailed) as refused:
        check_file(data, "application/pdf", MAX)
    assert refused.value.details["field"] == "file"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (PNG, "image/png"),
        (JPEG + b"Exif\x00\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'>", "image/jpeg"),
        (PDF, "application/pdf"),
        # names that only start like a dangerous one (macOS writes /AAPL:Keywords)
        (_pdf(b"1 0 obj<</AAPL:Keywords[(receipt)]/JSONish 1/Launched true>>endobj"), "application/pdf"),
        (_pdf(_object_stream(b"1 0 <</Type/Catalog/Pages 2 0 R>>")), "application/pdf"),
    ],
)
def test_ordinary_receipts_pass(data: bytes, content_type: str) -> None:
    assert find_active_content(data, content_type) is None
    check_file(data, content_type, MAX)


def test_an_object_stream_too_large_to_inspect_is_refused() -> None:
    bomb = _object_stream(b"1 0 <<>>" + b" " * (64 * 1024 * 1024))
    assert find_active_content(_pdf(bomb), "application/pdf") is not None


def test_a_pdf_with_compressed_pages_and_an_object_stream_passes() -> None:
    page = zlib.compress(b"BT /F1 12 Tf 72 712 Td (Payment 1500.00 RUB) Tj ET")
    data = _pdf(
        b"4 0 obj<</Length "
        + str(len(page)).encode()
        + b"/Filter/FlateDecode>>\nstream\n"
        + page
        + b"\nendstream\nendobj\n"
        + _object_stream(b"1 0 <</Type/Catalog/Pages 2 0 R>>")
    )
    assert find_active_content(data, "application/pdf") is None
