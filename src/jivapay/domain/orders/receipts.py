"""Active content in an uploaded receipt: HTML a browser could sniff, or a PDF that runs something.

The file type itself is checked by its magic bytes (``services.receipts``); this looks for what a
polyglot hides behind a genuine header:

- HTML/script markers (``<html``, ``<script``, ``<svg``, ``<!doctype html``, ``<body``,
  ``<iframe``, any case) in the head of the file, where browsers sniff, and in its tail, where
  appended payloads go. Only those two windows: binary image data in the middle would match
  short markers by chance.
- PDF names that run code or open things (``/JavaScript``, ``/JS``, ``/OpenAction``, ``/AA``,
  ``/Launch``, ``/EmbeddedFile(s)``, ``/RichMedia``, ``/XFA``) anywhere, with ``#xx`` escapes
  decoded, in the file and inside compressed object streams (where PDF 1.5+ keeps dictionaries).
"""

from __future__ import annotations

import re
import zlib

SNIFF_WINDOW_BYTES = 64 * 1024
HTML_MARKERS = (b"<html", b"<script", b"<svg", b"<!doctype html", b"<body", b"<iframe")
PDF_ACTIVE_NAMES = frozenset(
    {"JavaScript", "JS", "OpenAction", "AA", "Launch", "EmbeddedFile", "EmbeddedFiles", "RichMedia", "XFA"}
)
# an object stream holds dictionaries of a few KiB; more than this inflated is not a receipt
MAX_INFLATED_BYTES = 16 * 1024 * 1024

# a PDF name: "/" then regular characters up to whitespace or a delimiter (ISO 32000-1 §7.2.2)
_PDF_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb">>\s*stream\r?\n")  # a stream follows its dictionary
_OBJECT_HEADER = re.compile(rb"\d+\s+\d+\s+obj")
_DICTIONARY_LOOKBACK = 1024


def find_active_content(data: bytes, content_type: str) -> str | None:
    """Why ``data`` must not be stored, or None when nothing active was found."""
    windows = (data[:SNIFF_WINDOW_BYTES], data[-SNIFF_WINDOW_BYTES:])
    for window in windows:
        lowered = window.lower()
        for marker in HTML_MARKERS:
            if marker in lowered:
                return f"contains HTML ({marker.decode()})"
    if content_type == "application/pdf":
        return _pdf_active_content(data)
    return None


def _pdf_names(data: bytes) -> set[str]:
    names = set()
    for match in _PDF_NAME.finditer(data):
        raw = _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
        names.add(raw.decode("latin-1"))
    return names


def _pdf_active_content(data: bytes) -> str | None:
    found = _pdf_names(data) & PDF_ACTIVE_NAMES
    if found:
        return f"a PDF with active content (/{min(found)})"
    inflated_total = 0
    for start in _STREAM_START.finditer(data):
        window = data[max(0, start.start() - _DICTIONARY_LOOKBACK) : start.start() + 2]
        headers = list(_OBJECT_HEADER.finditer(window))
        names = _pdf_names(window[headers[-1].end() :] if headers else window)  # this object's dictionary
        if "ObjStm" not in names or "Filter" not in names:
            continue  # not an object stream, or an unfiltered one: the scan above has read it
        if "FlateDecode" not in names:
            return "a PDF with an object stream that cannot be inspected"
        budget = MAX_INFLATED_BYTES - inflated_total
        inflater = zlib.decompressobj()
        try:
            objects = inflater.decompress(memoryview(data)[start.end() :], budget) if budget > 0 else b""
        except zlib.error:
            return "a PDF with an object stream that cannot be read"
        if budget <= 0 or inflater.unconsumed_tail:
            return "a PDF whose object streams are too large to inspect"
        inflated_total += len(objects)
        found = _pdf_names(objects) & PDF_ACTIVE_NAMES
        if found:
            return f"a PDF with active content (/{min(found)})"
    return None
