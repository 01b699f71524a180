"""A withdrawal's life: the owner asks, the platform holds amount + fee, an admin approves (or the
rules do), the hot wallet signs and sends one transaction, the chain confirms it.

    requested ─(approved: by the rules or an admin)→ approved ─(signed and sent)→ broadcast
        │                                              │                          │
        ├─(rejected by an admin)→ rejected             ├─(canceled)→ canceled      ├─(mined, N blocks)→ completed
        └─(canceled by the owner)→ canceled            │                          └─(reverted)→ failed
                                                       └─(canceled by an admin)→ canceled

``completed`` is the ``confirmed`` of the plan: mined with the network's confirmations and the
ledger finalized in the same transaction. Every end but ``completed`` releases the hold. Once a
transaction is signed the withdrawal is ``broadcast``: its nonce (EVM) is spent, so it can no
longer be canceled; only the chain ends it.
"""

from __future__ import annotations

from typing import Final, Literal

from jivapay.domain.errors import Conflict

WithdrawalStatus = Literal["requested", "approved", "broadcast", "completed", "rejected", "canceled", "failed"]
STATUSES: Final[tuple[WithdrawalStatus, ...]] = (
    "requested",
    "approved",
    "broadcast",
    "completed",
    "rejected",
    "canceled",
    "failed",
)
OPEN: Final[tuple[WithdrawalStatus, ...]] = ("requested", "approved", "broadcast")
ENDS_RELEASING: Final[tuple[WithdrawalStatus, ...]] = ("rejected", "canceled", "failed")
OWNER_TYPES: Final[tuple[str, ...]] = ("trader", "store", "teamlead")

# who may move a withdrawal from a status to another
_MOVES: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("requested", "approved"): frozenset({"rules", "admin"}),
    ("requested", "rejected"): frozenset({"admin"}),
    ("requested", "canceled"): frozenset({"owner", "admin"}),
    ("approved", "canceled"): frozenset({"owner", "admin"}),
    ("approved", "broadcast"): frozenset({"system"}),
    ("broadcast", "completed"): frozenset({"system"}),
    ("broadcast", "failed"): frozenset({"system"}),
}

ApprovalReason = Literal["above_threshold", "new_address", "fraud_flag"]


def check_move(current: str, target: str, by: str, *, withdrawal: str) -> None:
    """Conflict unless ``by`` may move a withdrawal from ``current`` to ``target``."""
    if by not in _MOVES.get((current, target), frozenset()):
        raise Conflict(
            f"A {current} withdrawal cannot become {target}",
            withdrawal_id=withdrawal,
            current_status=current,
            requested_status=target,
        )
