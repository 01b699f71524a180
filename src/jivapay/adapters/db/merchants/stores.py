from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db import raw
from jivapay.adapters.db.models import Store, StoreApiKey, StoreLogo, StoreSigningSecret

_NAME = raw.RawStatement("SELECT name FROM stores WHERE id = :id")


class StoreRepository:
    """Stores and their credentials; merchant-facing reads are always filtered by owner."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, store: Store) -> Store:
        self.session.add(store)
        await self.session.flush()
        return store

    async def get_owned(self, store_id: int, merchant_id: int) -> Store | None:
        stmt = select(Store).where(Store.id == store_id, Store.merchant_id == merchant_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, store_id: int) -> Store | None:
        return await self.session.get(Store, store_id)

    async def name_of(self, store_id: int) -> str | None:
        """The store's name (the gateway's hottest read: one statement on the driver)."""
        row = await raw.fetchrow(self.session, _NAME, {"id": store_id})
        return None if row is None else str(row["name"])

    async def list_owned(self, merchant_id: int) -> Sequence[Store]:
        stmt = select(Store).where(Store.merchant_id == merchant_id).order_by(Store.id)
        return (await self.session.scalars(stmt)).all()

    async def list_for_merchant_ids(self, merchant_id: int) -> Sequence[int]:
        return (await self.session.scalars(select(Store.id).where(Store.merchant_id == merchant_id))).all()

    # --- API keys ---
    async def add_key(self, key: StoreApiKey) -> StoreApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def get_key(self, store_id: int, key_id: int) -> StoreApiKey | None:
        stmt = select(StoreApiKey).where(StoreApiKey.id == key_id, StoreApiKey.store_id == store_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list_keys(self, store_id: int) -> Sequence[StoreApiKey]:
        stmt = select(StoreApiKey).where(StoreApiKey.store_id == store_id).order_by(StoreApiKey.id)
        return (await self.session.scalars(stmt)).all()

    async def find_usable_key(self, prefix: str) -> tuple[StoreApiKey, Store] | None:
        stmt = (
            select(StoreApiKey, Store)
            .join(Store, Store.id == StoreApiKey.store_id)
            .where(
                StoreApiKey.prefix == prefix,
                StoreApiKey.revoked_at.is_(None),
                or_(StoreApiKey.expires_at.is_(None), StoreApiKey.expires_at > func.now()),
                Store.is_active.is_(True),
            )
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return (row[0], row[1]) if row else None

    async def touch_key(self, key_id: int, when: dt.datetime) -> None:
        await self.session.execute(update(StoreApiKey).where(StoreApiKey.id == key_id).values(last_used_at=when))

    # --- signing secrets ---
    async def add_secret(self, secret: StoreSigningSecret) -> StoreSigningSecret:
        self.session.add(secret)
        await self.session.flush()
        return secret

    async def active_secrets(self, store_id: int) -> Sequence[StoreSigningSecret]:
        """Newest first; more than one only during a rotation's overlap."""
        stmt = (
            select(StoreSigningSecret)
            .where(
                StoreSigningSecret.store_id == store_id,
                or_(StoreSigningSecret.expires_at.is_(None), StoreSigningSecret.expires_at > func.now()),
            )
            .order_by(StoreSigningSecret.id.desc())
        )
        return (await self.session.scalars(stmt)).all()

    async def expire_secrets(self, store_id: int, at: dt.datetime) -> None:
        await self.session.execute(
            update(StoreSigningSecret)
            .where(
                StoreSigningSecret.store_id == store_id,
                or_(StoreSigningSecret.expires_at.is_(None), StoreSigningSecret.expires_at > at),
            )
            .values(expires_at=at)
        )

    # --- the payment page's logo -------------------------------------------------------------

    async def put_logo(self, store_id: int, sha256: str, content_type: str, data: bytes) -> None:
        values = {"sha256": sha256, "content_type": content_type, "data": data, "created_at": func.now()}
        await self.session.execute(
            insert(StoreLogo)
            .values(store_id=store_id, **values)
            .on_conflict_do_update(index_elements=[StoreLogo.store_id], set_=values)
        )

    async def drop_logo(self, store_id: int) -> bool:
        result = await self.session.execute(delete(StoreLogo).where(StoreLogo.store_id == store_id))
        return bool(getattr(result, "rowcount", 0))

    async def logo_of(self, store_id: int) -> tuple[str, str] | None:
        """(sha256, content type) of the store's logo, without the bytes."""
        row = (
            await self.session.execute(
                select(StoreLogo.sha256, StoreLogo.content_type).where(StoreLogo.store_id == store_id)
            )
        ).first()
        return (row.sha256, row.content_type) if row else None

    async def logo_by_hash(self, sha256: str) -> tuple[bytes, str] | None:
        row = (
            await self.session.execute(
                select(StoreLogo.data, StoreLogo.content_type).where(StoreLogo.sha256 == sha256).limit(1)
            )
        ).first()
        return (bytes(row.data), row.content_type) if row else None
