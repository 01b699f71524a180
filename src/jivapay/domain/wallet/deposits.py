"""A deposit's life, from the first sighting on chain to the ledger (and, rarely, back).

    pending ──(confirmations reached, amount ≥ minimum)──▶ credited ──(block reorged out)──▶ reversed
       │  └──(confirmations reached, amount < minimum)──▶ below_minimum
       └──(block reorged out before credit)──▶ dropped ──(seen again in a new block)──▶ pending

A credited deposit whose reversal cannot be posted (the owner has already spent the USDT)
becomes ``reversal_failed``: an operator settles it by hand; it is never left silent.
"""

from __future__ import annotations

from typing import Final, Literal

DepositStatus = Literal["pending", "credited", "below_minimum", "dropped", "reversed", "reversal_failed"]
STATUSES: Final[tuple[DepositStatus, ...]] = (
    "pending",
    "credited",
    "below_minimum",
    "dropped",
    "reversed",
    "reversal_failed",
)
# Statuses whose chain position is still re-checked against the chain for reorgs.
WATCHED: Final[tuple[DepositStatus, ...]] = ("pending", "credited")


def confirmations(head: int, block_number: int) -> int:
    """Blocks from the deposit's block to the head, the deposit's own block counted (0: not yet mined/visible)."""
    return max(0, head - block_number + 1)


def credit_reference(tx_hash: str, log_index: int, generation: int) -> str:
    """What the ledger's idempotency key is built from: one credit per (tx, log) and per revival after a reorg."""
    base = f"{tx_hash}:{log_index}"
    return base if generation == 0 else f"{base}:g{generation}"
