"""What the wallet's scheduled passes share: one item's trouble never stops the rest of a pass."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable
from typing import Any

from jivapay.adapters.notifications import report_critical_error
from jivapay.domain.errors import ChainUnavailable

log = logging.getLogger("jivapay.wallet")
CHAOS_PAUSE_ENV = "JIVAPAY_CHAOS_PAUSE_AT"


async def isolated(step: Awaitable[None], **facts: Any) -> None:
    """Run one item's step; a failure is reported and the pass goes on, except a network outage
    (``ChainUnavailable``), which ends the pass: the next one tries again."""
    try:
        await step
    except ChainUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - reported with the item's facts, and the pass goes on
        report_critical_error(exc, "a wallet pass could not advance an item", **facts)


async def chaos_pause(point: str) -> None:
    """Fault injection for the crash tests (tests/e2e/test_wallet_crash.py): with
    ``JIVAPAY_CHAOS_PAUSE_AT=<point>`` a wallet pass stops there, so the test can SIGKILL the
    worker at exactly that moment. Off unless set; never set it in production."""
    if os.environ.get(CHAOS_PAUSE_ENV) == point:
        log.warning("chaos: paused", extra={"point": point})
        await asyncio.sleep(3600)
