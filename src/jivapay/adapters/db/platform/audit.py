from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# prebuilt: the audit insert runs in almost every transaction, so it skips statement building
_INSERT = text(
    "INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, details, ip) "
    "VALUES (:actor_type, :actor_id, :action, :target_type, :target_id, CAST(:details AS jsonb), CAST(:ip AS inet)) "
    "RETURNING id"
)
_INSERT_MANY = text(
    "INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, details, ip) "
    "SELECT * FROM unnest(CAST(:actor_type AS varchar[]), CAST(:actor_id AS varchar[]), CAST(:action AS varchar[]), "
    "CAST(:target_type AS varchar[]), CAST(:target_id AS varchar[]), CAST(:details AS jsonb[]), CAST(:ip AS inet[]))"
)
COLUMNS = ("actor_type", "actor_id", "action", "target_type", "target_id", "details", "ip")


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        actor_type: str,
        actor_id: str | None,
        action: str,
        target_type: str | None,
        target_id: str | None,
        details: dict[str, Any],
        ip: str | None,
    ) -> int:
        params = {
            "actor_type": actor_type,
            "actor_id": actor_id,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "details": json.dumps(details, default=str),
            "ip": ip,
        }
        return int((await self.session.execute(_INSERT, params)).scalar_one())

    async def add_columns(self, columns: dict[str, list[Any]]) -> None:
        """Several entries in one statement, as built by ``columns``."""
        await self.session.execute(_INSERT_MANY, columns)

    @staticmethod
    def columns(entries: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
        """Entries as the column arrays that an ``unnest`` insert of audit_log takes."""
        params: dict[str, list[Any]] = {column: [] for column in COLUMNS}
        for entry in entries:
            for column in COLUMNS:
                value = entry[column]
                params[column].append(json.dumps(value, default=str) if column == "details" else value)
        return params
