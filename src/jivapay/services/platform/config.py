"""Run-time configuration from ``configuration_settings``, cached per process.

Every read checks one Redis version key; a write bumps it after commit, so every process
drops its copy at its next read. When Redis is down reads go to the database (reported,
not fatal).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.platform.config import ConfigurationRepository
from jivapay.adapters.db.uow import on_commit
from jivapay.adapters.memo import Memo
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import ConfigurationError, NotFound, ValidationFailed
from jivapay.domain.platform.audit import Actor, Target
from jivapay.domain.platform.config import DEFINITIONS, check_meaning, coerce, parse_value, serialize_value
from jivapay.services.platform.audit import log_action

log = logging.getLogger("jivapay.config")

T = TypeVar("T")
VERSION_KEY = "jivapay:config:version"
VERSION_CHECK_SECONDS = 1.0
_MISSING: Any = object()


_CURRENT = "current"
# the shared version as this process last read it, trusted for VERSION_CHECK_SECONDS
_version: Memo[str, str] = Memo("config.version", maxsize=1, ttl=VERSION_CHECK_SECONDS)
# every setting, loaded once per version (a new version pushes the old one out)
_values: Memo[str, dict[str, Any]] = Memo("config.values", maxsize=1, ttl=None)


class _Outage:
    reported = False


async def _current_version() -> str | None:
    """The shared version, or None when Redis cannot be asked.

    Asked at most every VERSION_CHECK_SECONDS per process: a change made elsewhere is seen
    within that time; a change made by this process is seen at once (it clears the cache).
    """
    known = _version.get(_CURRENT)
    if known is not None:
        return known
    try:
        version = await get_resources().redis.get(VERSION_KEY)
    except Exception as exc:  # noqa: BLE001 - any Redis failure means "read the DB"
        if not _Outage.reported:
            from jivapay.adapters.notifications import report_critical_error

            report_critical_error(exc, "config cache: Redis unavailable, reading from the database")
            _Outage.reported = True
        return None
    _Outage.reported = False
    current = str(version or "0")
    _version.set(_CURRENT, current, ttl=VERSION_CHECK_SECONDS)  # read at call time: tests shorten it
    return current


async def _load_all(session: AsyncSession | None) -> dict[str, Any]:
    """Read every setting — through the caller's session when it has one: a second pooled
    connection taken while the first is held can starve the pool under load."""
    if session is not None:
        raw = await ConfigurationRepository(session).all_raw()
    else:
        async with get_resources().session_factory() as own:
            raw = await ConfigurationRepository(own).all_raw()
    return {key: parse_value(value, value_type, key=key) for key, (value, value_type) in raw.items()}


async def get_config(key: str, type_: type[T], default: T = _MISSING, *, session: AsyncSession | None = None) -> T:
    """The typed value of ``key``; ``default`` when it is not set; ConfigurationError otherwise.

    Code inside a transaction passes its ``session`` so a cache refresh reads through it.
    """
    version = await _current_version()
    if version is None:
        values = await _load_all(session)
    else:
        values = await _values.get_or_load(version, lambda: _load_all(session))
    if key in values:
        return coerce(values[key], type_, key=key)  # type: ignore[no-any-return]
    if default is not _MISSING:
        return default
    definition = DEFINITIONS.get(key)
    if definition is not None:
        return coerce(definition.default, type_, key=key)  # type: ignore[no-any-return]
    raise ConfigurationError(f"configuration setting {key} is not set and has no default", key=key)


async def invalidate_config_cache() -> None:
    _version.clear()
    _values.clear()
    try:
        await get_resources().redis.incr(VERSION_KEY)
    except Exception as exc:  # noqa: BLE001
        from jivapay.adapters.notifications import report_critical_error

        report_critical_error(exc, "config cache: could not publish a new version")


async def set_config(
    session: AsyncSession,
    key: str,
    value: Any,
    *,
    actor: Actor,
    value_type: str | None = None,
    description: str | None = None,
    ip: str | None = None,
) -> None:
    """Write a setting in the caller's transaction, audited; caches drop it after commit."""
    definition = DEFINITIONS.get(key)
    if definition is not None:
        if value_type is not None and value_type != definition.value_type:
            raise ValidationFailed(f"{key} is a {definition.value_type} setting", field="value_type", key=key)
        value_type = definition.value_type
    if value_type is None:
        raise ValidationFailed(f"{key} is not a known setting; give its value_type", field="value_type", key=key)
    if not key.replace("_", "").isalnum() or not key.isupper():
        raise ValidationFailed("setting keys are UPPER_SNAKE_CASE", field="key", key=key)
    raw = serialize_value(value, value_type, key=key)
    check_meaning(key, value_type, parse_value(raw, value_type, key=key))
    # writes of one key queue here, so a read-modify-write (a blocklist) never loses a change
    repo = ConfigurationRepository(session)
    await repo.lock_key(key)
    previous = await repo.get(key)
    if description is None:
        description = previous.description if previous else (definition.description if definition else "")
    await repo.upsert(key, raw, value_type, description, updated_by=str(actor))
    await log_action(
        session,
        actor,
        "config.set",
        Target.of("configuration_setting", key),
        {"old": previous.value if previous else None, "new": raw},
        ip=ip,
    )
    on_commit(session, invalidate_config_cache)


async def read_config(session: AsyncSession, key: str, type_: type[T]) -> T:
    """The committed value, past the cache: for a read-modify-write under a lock."""
    row = await ConfigurationRepository(session).get(key)
    if row is not None:
        return coerce(parse_value(row.value, row.value_type, key=key), type_, key=key)  # type: ignore[no-any-return]
    definition = DEFINITIONS.get(key)
    if definition is None:
        raise NotFound("No such setting", key=key)
    return coerce(definition.default, type_, key=key)  # type: ignore[no-any-return]


@dataclasses.dataclass(frozen=True, slots=True)
class SettingView:
    key: str
    value_type: str
    value: Any  # what the platform uses now
    default: Any  # None for a setting without a definition
    description: str
    is_default: bool  # the value in force is the default
    updated_by: str | None
    updated_at: dt.datetime | None


async def list_settings(session: AsyncSession) -> list[SettingView]:
    """Every known setting (stored or not) and every stored one, by key."""
    stored = {row.key: row for row in await ConfigurationRepository(session).list_all()}
    views = []
    for key in sorted(set(DEFINITIONS) | set(stored)):
        definition, row = DEFINITIONS.get(key), stored.get(key)
        if row is not None:
            value = parse_value(row.value, row.value_type, key=key)
            value_type, description = row.value_type, row.description or (definition.description if definition else "")
        else:
            assert definition is not None
            value, value_type, description = definition.default, definition.value_type, definition.description
        views.append(
            SettingView(
                key=key,
                value_type=value_type,
                value=value,
                default=definition.default if definition else None,
                description=description,
                is_default=row is None or (definition is not None and value == definition.default),
                updated_by=row.updated_by if row else None,
                updated_at=row.updated_at if row else None,
            )
        )
    return views


async def get_setting(session: AsyncSession, key: str) -> SettingView:
    for view in await list_settings(session):
        if view.key == key:
            return view
    raise NotFound("No such setting", key=key)


async def reset_config(session: AsyncSession, key: str, *, actor: Actor, ip: str | None = None) -> None:
    """Drop the stored value: the default applies again (a setting without one disappears)."""
    removed = await ConfigurationRepository(session).delete(key)
    if removed is None:
        if key in DEFINITIONS:
            return  # already at its default
        raise NotFound("No such setting", key=key)
    await log_action(
        session, actor, "config.reset", Target.of("configuration_setting", key), {"old": removed.value}, ip=ip
    )
    on_commit(session, invalidate_config_cache)
