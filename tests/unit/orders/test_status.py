"""The one transition table (domain.orders): every move, every party, every illegal pair."""

from __future__ import annotations

import itertools

import pytest

from jivapay.domain.errors import Conflict, PermissionDenied
from jivapay.domain.orders.status import FINAL, OPEN, ORDER_STATUSES, RELEASING, TRANSITIONS, Party, check_transition

DIRECTIONS = ("payin", "payout")
STATUSES = {
    "payin": {"pending_payment", "client_confirmed", "completed", "canceled", "expired", "disputed"},
    "payout": {"pending", "trader_paid", "completed", "declined", "expired", "canceled", "disputed"},
}


@pytest.mark.parametrize(("move", "allowed"), sorted(TRANSITIONS.items()))
def test_each_move_is_allowed_to_its_parties_only(move: tuple[str, str, str], allowed: frozenset[Party]) -> None:
    direction, current, target = move
    for party in Party:
        if party in allowed:
            check_transition(direction, current, target, party)
        else:
            with pytest.raises(PermissionDenied) as refused:
                check_transition(direction, current, target, party)
            assert refused.value.details["current_status"] == current


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_every_move_not_in_the_table_is_a_conflict_naming_the_current_status(direction: str) -> None:
    for current, target in itertools.product(sorted(ORDER_STATUSES), repeat=2):
        if (direction, current, target) in TRANSITIONS:
            continue
        for party in Party:
            with pytest.raises(Conflict) as refused:
                check_transition(direction, current, target, party)
            assert refused.value.details["current_status"] == current
            assert refused.value.details["target"] == target


def test_final_statuses_never_move_and_open_ones_always_can_end() -> None:
    for direction, current, _ in TRANSITIONS:
        assert current not in FINAL, (direction, current)
        assert current in OPEN
    for direction in DIRECTIONS:
        for status in STATUSES[direction] & OPEN:
            reachable, frontier = {status}, [status]
            while frontier:
                here = frontier.pop()
                for d, current, target in TRANSITIONS:
                    if d == direction and current == here and target not in reachable:
                        reachable.add(target)
                        frontier.append(target)
            assert reachable & FINAL, (direction, status)
            assert "completed" in reachable, (direction, status)


def test_every_status_in_the_table_belongs_to_its_direction() -> None:
    for direction, current, target in TRANSITIONS:
        assert {current, target} <= STATUSES[direction], (direction, current, target)
    assert set().union(*STATUSES.values()) == ORDER_STATUSES
    assert RELEASING <= FINAL
    assert not OPEN & FINAL


def test_only_the_system_expires_and_only_the_trader_marks_a_payout_paid() -> None:
    expiring = [m for m in TRANSITIONS if m[2] == "expired"]
    assert expiring
    assert all(TRANSITIONS[m] == frozenset({Party.SYSTEM}) for m in expiring)
    assert TRANSITIONS[("payout", "pending", "trader_paid")] == frozenset({Party.TRADER})
    # the customer and the merchant never complete a pay-in; the merchant confirms a paid pay-out
    assert Party.CUSTOMER not in TRANSITIONS[("payin", "client_confirmed", "completed")]
    assert Party.MERCHANT in TRANSITIONS[("payout", "trader_paid", "completed")]
