"""Readiness: can this process do its job right now?"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from jivapay.adapters.db.engine import ping
from jivapay.adapters.db.migrations import applied_revisions, head_revisions
from jivapay.adapters.resources import Resources

log = logging.getLogger("jivapay.health")
CHECK_TIMEOUT_SECONDS = 3.0


@dataclasses.dataclass(slots=True)
class Readiness:
    ready: bool
    checks: dict[str, str]


async def _database(resources: Resources) -> str:
    async with resources.session_factory() as session:
        await ping(session)
        applied = await applied_revisions(session)
    head = head_revisions()
    if applied != head:
        return f"migrations not at head (applied {sorted(applied) or 'none'}, head {sorted(head)})"
    return "ok"


async def _redis(resources: Resources) -> str:
    await resources.redis.ping()
    return "ok"


async def check_readiness(resources: Resources) -> Readiness:
    checks: dict[str, str] = {}
    for name, probe in (("database", _database), ("redis", _redis)):
        try:
            checks[name] = await asyncio.wait_for(probe(resources), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            log.warning("readiness check failed", extra={"check": name, "error": repr(exc)})
            checks[name] = f"unavailable: {type(exc).__name__}"
    return Readiness(ready=all(v == "ok" for v in checks.values()), checks=checks)
