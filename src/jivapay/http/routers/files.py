"""Signed downloads from the local file store (the S3 store hands out presigned URLs instead)."""

from __future__ import annotations

from litestar import Response, get

from jivapay.adapters.storage import LocalStorage, storage_for
from jivapay.domain.errors import NotFound
from jivapay.settings import get_settings


@get("/files/{key:path}", operation_id="download_file", tags=["files"], include_in_schema=False)
async def download(key: str, expires: int, signature: str) -> Response[bytes]:
    storage = storage_for(get_settings())
    if not isinstance(storage, LocalStorage):
        raise NotFound("File not found")
    data, content_type = storage.open_signed(key.lstrip("/"), expires, signature)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, no-store"})


route_handlers = [download]
