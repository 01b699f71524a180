"""One way to answer with a CSV: a header, then rows streamed in batches, every cell made safe
to open in a spreadsheet (domain/csv_safe.py), served as an attachment."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence

from litestar.response import Stream

from jivapay.adapters.db.errors import translate_db_error
from jivapay.domain.csv_safe import safe_row


async def csv_attachment(
    header: Sequence[str], batches: AsyncIterable[Iterable[Sequence[object]]], filename: str
) -> Stream:
    """``batches`` yields lists of rows (read one batch per transaction: never the whole export in
    memory); None cells are written empty. The first batch is read before the answer starts, so a
    filter the database refuses (a number out of range) is a clear 4xx, not a cut-off download."""
    iterator = aiter(batches)
    try:
        first = await anext(iterator, None)
    except Exception as exc:  # the batches read outside a unit of work: say it as one would
        translated = translate_db_error(exc)
        if translated is None:
            raise
        raise translated from exc

    async def chunks() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        yield buffer.getvalue()
        if first is None:
            return
        pending: Iterable[Sequence[object]] | None = first
        while pending is not None:
            buffer.seek(0)
            buffer.truncate()
            for row in pending:
                writer.writerow(safe_row("" if value is None else value for value in row))
            yield buffer.getvalue()
            pending = await anext(iterator, None)

    name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100]  # a header value: plain ASCII only
    return Stream(chunks(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
