"""What the wallet's scheduled passes share: one item's trouble never stops the rest of a pass."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from jivapay.adapters.notifications import report_critical_error
from jivapay.domain.errors import ChainUnavailable


async def isolated(step: Awaitable[None], **facts: Any) -> None:
    """Run one item's step; a failure is reported and the pass goes on, except a network outage
    (``ChainUnavailable``), which ends the pass: the next one tries again."""
    try:
        await step
    except ChainUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - reported with the item's facts, and the pass goes on
        report_critical_error(exc, "a wallet pass could not advance an item", **facts)
