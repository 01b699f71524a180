"""Who did what to which: the vocabulary of the audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt

from jivapay.domain.errors import ValidationFailed
from jivapay.domain.periods import check_period


@dataclasses.dataclass(frozen=True, slots=True)
class Actor:
    type: str  # "user", "store" (API key), "system"
    id: str | None = None

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls("system", component)

    @classmethod
    def user(cls, user_id: int | str) -> Actor:
        return cls("user", str(user_id))

    def __str__(self) -> str:
        return f"{self.type}:{self.id}" if self.id else self.type


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    type: str
    id: str | None = None

    @classmethod
    def of(cls, type_: str, id_: int | str | None = None) -> Target:
        return cls(type_, None if id_ is None else str(id_))


@dataclasses.dataclass(frozen=True, slots=True)
class AuditFilter:
    """What `/admin/audit` reads: every given filter (None: not filtered)."""

    actor_type: str | None = None
    actor_id: str | None = None
    action: str | None = None  # exact, or a prefix when it ends with "."
    target_type: str | None = None
    target_id: str | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None

    def checked(self) -> AuditFilter:
        """This filter with its period as aware times; ValidationFailed when it cannot work."""
        if self.actor_id is not None and self.actor_type is None:
            raise ValidationFailed("actor_id needs actor_type", field="actor_type")
        if self.target_id is not None and self.target_type is None:
            raise ValidationFailed("target_id needs target_type", field="target_type")
        created_from, created_to = check_period(self.created_from, self.created_to, field="from")
        return dataclasses.replace(self, created_from=created_from, created_to=created_to)
