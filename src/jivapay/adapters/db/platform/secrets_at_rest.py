"""Every column holding a secret encrypted with SECRET_KEY, read and rewritten by a key rotation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IncomingOrder, Requisite, StoreSigningSecret


def _column(model: Any, name: str) -> Column[Any]:
    table: Table = model.__table__
    return table.c[name]


#: table → its encrypted column (``adapters.security.encrypt_secret``); a new one belongs here
ENCRYPTED_COLUMNS: Mapping[str, Column[Any]] = {
    "store_signing_secrets": _column(StoreSigningSecret, "secret_encrypted"),
    "requisites": _column(Requisite, "number_encrypted"),
    "incoming_orders": _column(IncomingOrder, "recipient_encrypted"),  # pay-out recipients
}


class SecretsAtRestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_batch(self, table: str, after_id: int, limit: int) -> Sequence[tuple[int, str]]:
        """(id, ciphertext) of the next ``limit`` rows after ``after_id`` that hold one, locked.

        FOR NO KEY UPDATE: no other writer changes them until the transaction ends, while rows
        that only reference them (an order's requisite) can still be inserted.
        """
        column = ENCRYPTED_COLUMNS[table]
        row_id = column.table.c.id
        stmt = (
            select(row_id, column)
            .where(row_id > after_id, column.is_not(None))
            .order_by(row_id)
            .limit(limit)
            .with_for_update(key_share=True)
        )
        return [(int(r[0]), str(r[1])) for r in (await self.session.execute(stmt)).all()]

    async def rewrite(self, table: str, ciphertexts: Mapping[int, str]) -> None:
        """Store new ciphertexts by row id; ``updated_at`` stays: the data did not change."""
        if not ciphertexts:
            return
        column = ENCRYPTED_COLUMNS[table]
        rows = column.table.c
        values: dict[Any, Any] = {column: bindparam("ciphertext")}
        if "updated_at" in rows:
            values[rows.updated_at] = rows.updated_at
        stmt = update(column.table).where(rows.id == bindparam("row_id")).values(values)
        await self.session.execute(stmt, [{"row_id": i, "ciphertext": c} for i, c in ciphertexts.items()])
