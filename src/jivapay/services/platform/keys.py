"""Rotating SECRET_KEY: re-encrypt every secret stored at rest under the current key.

Run by ``jivapay keys rotate`` after SECRET_KEY got a new value and the old one moved to
SECRET_KEY_PREVIOUS. Each batch is its own transaction (rows locked, short), so the platform
keeps working meanwhile; rows already under SECRET_KEY are left alone, so a second run is a
no-op. A row no key decrypts is left as it is and reported by table and id, never its content.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.platform.secrets_at_rest import ENCRYPTED_COLUMNS, SecretsAtRestRepository
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.security import reencrypt_secret
from jivapay.domain.errors import ConfigurationError
from jivapay.domain.platform.audit import Actor
from jivapay.services.platform.audit import log_action
from jivapay.settings import Settings

ROTATION_ACTOR = Actor.system("keys-rotate")
BATCH_SIZE = 500
#: unreadable row ids named per table in the failure message (the count is always complete)
IDS_SHOWN = 20


@dataclasses.dataclass(slots=True)
class TableRotation:
    checked: int = 0
    rotated: int = 0
    unreadable_ids: list[int] = dataclasses.field(default_factory=list)

    @property
    def already_current(self) -> int:
        return self.checked - self.rotated - len(self.unreadable_ids)

    def counts(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "rotated": self.rotated,
            "already_current": self.already_current,
            "unreadable": len(self.unreadable_ids),
        }


@dataclasses.dataclass(slots=True)
class KeyRotationReport:
    tables: dict[str, TableRotation]

    @property
    def rotated(self) -> int:
        return sum(t.rotated for t in self.tables.values())

    @property
    def unreadable(self) -> int:
        return sum(len(t.unreadable_ids) for t in self.tables.values())

    @property
    def ok(self) -> bool:
        return self.unreadable == 0

    def counts(self) -> dict[str, Any]:
        """Counts only (what is printed and audited): per table, and the totals."""
        return {
            "rotated": self.rotated,
            "unreadable": self.unreadable,
            "tables": {name: table.counts() for name, table in self.tables.items()},
        }

    def failure(self) -> str | None:
        """One line naming where the unreadable rows are; None when there are none."""
        if self.ok:
            return None
        where = "; ".join(
            f"{name}: {len(t.unreadable_ids)} (ids {', '.join(map(str, t.unreadable_ids[:IDS_SHOWN]))}"
            + (", ...)" if len(t.unreadable_ids) > IDS_SHOWN else ")")
            for name, t in self.tables.items()
            if t.unreadable_ids
        )
        return (
            f"{self.unreadable} stored secret(s) cannot be decrypted with SECRET_KEY or SECRET_KEY_PREVIOUS "
            f"and were left as they are: {where}; add the key they were encrypted with to SECRET_KEY_PREVIOUS "
            "and run again"
        )


async def rotate_secrets_at_rest(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings, *, batch_size: int = BATCH_SIZE
) -> KeyRotationReport:
    """Re-encrypt every stored secret that a previous key reads under SECRET_KEY; audited with counts.

    Opens its own units of work by design: one per batch, then one for the audit entry.
    """
    report = KeyRotationReport({name: TableRotation() for name in ENCRYPTED_COLUMNS})
    for name, table in report.tables.items():
        after_id = 0
        while True:
            async with atomic(session_factory, name="keys.rotate") as session:
                repo = SecretsAtRestRepository(session)
                rows = await repo.lock_batch(name, after_id, batch_size)
                rekeyed: dict[int, str] = {}
                unreadable: list[int] = []
                for row_id, ciphertext in rows:
                    try:
                        new = reencrypt_secret(settings, ciphertext)
                    except ConfigurationError:
                        unreadable.append(row_id)
                        continue
                    if new is not None:
                        rekeyed[row_id] = new
                await repo.rewrite(name, rekeyed)
            table.checked += len(rows)
            table.rotated += len(rekeyed)
            table.unreadable_ids += unreadable
            if len(rows) < batch_size:
                break
            after_id = rows[-1][0]
    async with atomic(session_factory, name="keys.rotate.audit") as session:
        await log_action(session, ROTATION_ACTOR, "keys.rotate", details=report.counts())
    return report
