"""Object storage for receipts: S3 (aioboto3) when S3_* are set, the local filesystem otherwise.

Downloads are short-lived links: S3 presigned URLs, or for the local store an HMAC-signed
``/files/...`` URL the API serves itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import urllib.parse
from pathlib import Path
from typing import Protocol

import aioboto3

from jivapay.domain.errors import NotFound, NotificationError
from jivapay.settings import Settings


def attachment_disposition(key: str) -> str:
    """Downloads are saved, never shown inline by the browser (a file cannot run as a page)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", key.rsplit("/", 1)[-1]) or "file"
    return f'attachment; filename="{name}"'


class ObjectStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def download_url(self, key: str, expires_in: int) -> str: ...


class S3Storage:
    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket_name or ""
        self.endpoint = settings.s3_endpoint_url
        self.session = aioboto3.Session(
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            region_name=settings.s3_region,
        )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            async with self.session.client("s3", endpoint_url=self.endpoint) as s3:
                await s3.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    ContentType=content_type,
                    ContentDisposition=attachment_disposition(key),
                )
        except Exception as exc:
            raise NotificationError("The file could not be stored", reason=type(exc).__name__) from exc

    async def download_url(self, key: str, expires_in: int) -> str:
        async with self.session.client("s3", endpoint_url=self.endpoint) as s3:
            url: str = await s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": attachment_disposition(key)},
                ExpiresIn=expires_in,
            )
        return url


class LocalStorage:
    """For `jivapay up` and development: files under the data folder, links signed with SECRET_KEY."""

    def __init__(self, settings: Settings) -> None:
        self.root = Path(settings.data_dir).resolve() / "files"
        self.secret = settings.secret_key.encode()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise NotFound("File not found")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.with_suffix(path.suffix + ".type").write_text(content_type)

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()

    async def download_url(self, key: str, expires_in: int) -> str:
        expires = int(time.time()) + expires_in
        query = urllib.parse.urlencode({"expires": expires, "signature": self._signature(key, expires)})
        return f"/files/{urllib.parse.quote(key)}?{query}"

    def open_signed(self, key: str, expires: int, signature: str) -> tuple[bytes, str]:
        """The file behind a signed link, if the link is genuine and not expired."""
        if expires < time.time() or not hmac.compare_digest(self._signature(key, expires), signature):
            raise NotFound("File not found")
        path = self._path(key)
        if not path.is_file():
            raise NotFound("File not found")
        return path.read_bytes(), path.with_suffix(path.suffix + ".type").read_text()


def storage_for(settings: Settings) -> S3Storage | LocalStorage:
    if settings.s3_bucket_name and settings.s3_access_key and settings.s3_secret_key:
        return S3Storage(settings)
    return LocalStorage(settings)
