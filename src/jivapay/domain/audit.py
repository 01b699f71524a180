"""Who did what to which: the vocabulary of the audit log."""

from __future__ import annotations

import dataclasses


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
