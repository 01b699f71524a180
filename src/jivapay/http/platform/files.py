"""Signed downloads from the local file store (the S3 store hands out presigned URLs instead)."""

from __future__ import annotations

from litestar import Response, get

from jivapay.adapters.storage import LocalStorage, attachment_disposition, storage_for
from jivapay.domain.errors import NotFound
from jivapay.settings import get_settings


@get("/files/{key:path}", operation_id="download_file", tags=["files"], include_in_schema=False)
async def download(key: str, expires: int, signature: str) -> Response[bytes]:
    storage = storage_for(get_settings())
    if not isinstance(storage, LocalStorage):
        raise NotFound("File not found")
    data, content_type = storage.open_signed(key.lstrip("/"), expires, signature)
    headers = {
        "Cache-Control": "private, no-store",
        "Content-Disposition": attachment_disposition(key),
        "X-Content-Type-Options": "nosniff",
        # were it rendered after all, nothing in it may load, run or be framed
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
    }
    return Response(data, media_type=content_type, headers=headers)


route_handlers = [download]
