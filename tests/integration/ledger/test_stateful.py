"""Random sequences of ledger operations against the real database and an in-memory model.

After every step the database's balances equal the model's and the auditor finds nothing;
an operation that fails (insufficient funds, conflicting idempotency key, resolved hold)
leaves every balance as it was.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select, text

from jivapay.adapters.db.ledger.postings import forget_cached_accounts
from jivapay.adapters.db.models import Account, Base
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.resources import Resources
from jivapay.domain.errors import Conflict, InsufficientBalance
from jivapay.domain.ledger import posting as L
from jivapay.domain.platform.audit import Actor
from jivapay.services.ledger import posting
from jivapay.services.ledger.audit import audit_ledger
from jivapay.settings import get_settings

OWNERS = [("trader", 1), ("trader", 2), ("store", 10), ("store", 11)]
owners = st.sampled_from(OWNERS)
amounts = st.integers(min_value=1, max_value=5_000)
ADMIN = Actor.user(1)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.resources = Resources.create(get_settings())
        self.model: dict[L.AccountKey, int] = {}
        self.holds: dict[str, tuple[str, int, int]] = {}  # reference → (owner_type, owner_id, amount)
        self.deposits: dict[str, tuple[tuple[str, int], int]] = {}  # tx_ref → (owner, amount)
        self.counter = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.resources.aclose())
        self.loop.close()

    @initialize()
    def empty_ledger(self) -> None:
        async def wipe() -> None:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            async with self.resources.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                # the owners the rules use must exist (adjustments check them)
                await conn.execute(
                    text(
                        "INSERT INTO users (id, login, password_hash, role) VALUES "
                        "(1, 't1', '!', 'trader'), (2, 't2', '!', 'trader'), (3, 'm3', '!', 'merchant')"
                    )
                )
                await conn.execute(text("INSERT INTO stores (id, merchant_id, name) VALUES (10, 3, 'a'), (11, 3, 'b')"))

        self.run(wipe())
        forget_cached_accounts()

    def _add(self, key: L.AccountKey, amount: int) -> None:
        self.model[key] = self.model.get(key, 0) + amount

    def _next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    async def _in_tx(self, operation: Any) -> Any:
        async with atomic(self.resources.session_factory) as session:
            return await operation(session)

    def attempt(self, operation: Any) -> bool:
        """Run one operation in its own transaction; False when it was refused."""
        try:
            self.run(self._in_tx(operation))
        except (InsufficientBalance, Conflict):
            return False
        return True

    # --- rules ---
    @rule(owner=owners, amount=amounts)
    def deposit(self, owner: tuple[str, int], amount: int) -> None:
        ref = self._next("dep")
        if self.attempt(lambda s: posting.credit_deposit(s, owner[0], owner[1], "TRC20", amount, ref)):
            self.deposits[ref] = (owner, amount)
            self._add(L.owner_accounts(*owner)[0], amount)
            self._add(L.external_crypto("TRC20"), -amount)

    @precondition(lambda self: bool(self.deposits))
    @rule(data=st.data(), same_amount=st.booleans())
    def repeat_deposit_key(self, data: st.DataObject, same_amount: bool) -> None:
        ref = data.draw(st.sampled_from(sorted(self.deposits)))
        owner, original = self.deposits[ref]
        amount = original if same_amount else original + 1
        accepted = self.attempt(lambda s: posting.credit_deposit(s, owner[0], owner[1], "TRC20", amount, ref))
        # a replay is accepted and changes nothing; another amount under the same key is a conflict
        assert accepted == same_amount

    @rule(owner=owners, amount=amounts)
    def freeze(self, owner: tuple[str, int], amount: int) -> None:
        ref = self._next("hold")
        available, frozen = L.owner_accounts(*owner)
        ok = self.attempt(lambda s: posting.freeze(s, owner[0], owner[1], amount, ref))
        assert ok == (self.model.get(available, 0) >= amount)
        if ok:
            self.holds[ref] = (owner[0], owner[1], amount)
            self._add(available, -amount)
            self._add(frozen, amount)

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data(), share=st.integers(min_value=0, max_value=100), to=owners)
    def capture(self, data: st.DataObject, share: int, to: tuple[str, int]) -> None:
        ref = data.draw(st.sampled_from(sorted(self.holds)))
        owner_type, owner_id, amount = self.holds[ref]
        taken = amount * share // 100
        to_store = max(taken - taken // 10, 0)
        profit = taken - to_store
        destinations = [L.Leg(L.owner_accounts(*to)[0], to_store)] if to_store else []
        if profit:
            destinations.append(L.Leg(L.platform_profit(), profit))
        available, frozen = L.owner_accounts(owner_type, owner_id)
        if not destinations:  # nothing taken: a release
            assert self.attempt(lambda s: posting.release(s, ref))
        else:
            assert self.attempt(lambda s: posting.capture(s, ref, destinations))
            if to_store:
                self._add(L.owner_accounts(*to)[0], to_store)
            if profit:
                self._add(L.platform_profit(), profit)
        self._add(frozen, -amount)
        self._add(available, amount - taken)
        del self.holds[ref]
        # resolving it again is refused and changes nothing
        assert not self.attempt(lambda s: posting.release(s, ref, key=self._next("again")))

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(sorted(self.holds)))
        owner_type, owner_id, amount = self.holds.pop(ref)
        assert self.attempt(lambda s: posting.release(s, ref))
        available, frozen = L.owner_accounts(owner_type, owner_id)
        self._add(frozen, -amount)
        self._add(available, amount)

    @rule(owner=owners, amount=amounts, finish=st.booleans())
    def withdraw(self, owner: tuple[str, int], amount: int, finish: bool) -> None:
        wid = self._next("wd")
        available, _ = L.owner_accounts(*owner)
        ok = self.attempt(lambda s: posting.hold_withdrawal(s, owner[0], owner[1], amount, wid, "TRC20"))
        assert ok == (self.model.get(available, 0) >= amount)
        if not ok:
            return
        if finish:
            assert self.attempt(lambda s: posting.finalize_withdrawal(s, wid, "TRC20", f"0x{wid}"))
            self._add(available, -amount)
            self._add(L.external_crypto("TRC20"), amount)
        else:
            assert self.attempt(lambda s: posting.cancel_withdrawal(s, wid))

    @rule(owner=owners, amount=st.integers(min_value=-3_000, max_value=3_000).filter(bool))
    def adjust(self, owner: tuple[str, int], amount: int) -> None:
        available, _ = L.owner_accounts(*owner)
        key = self._next("adj")
        ok = self.attempt(
            lambda s: posting.adjust(
                s, ADMIN, owner_type=owner[0], owner_id=owner[1], amount=amount, reason="test", idempotency_key=key
            )
        )
        assert ok == (self.model.get(available, 0) + amount >= 0)
        if ok:
            self._add(available, amount)
            self._add(L.adjustment(), -amount)

    @rule(a=owners, b=owners, amount=amounts)
    def transfer(self, a: tuple[str, int], b: tuple[str, int], amount: int) -> None:
        if a == b:
            return
        src, dst = L.owner_accounts(*a)[0], L.owner_accounts(*b)[0]
        ok = self.attempt(
            lambda s: posting.post(
                s, idempotency_key=self._next("tr"), kind="transfer", legs=[L.Leg(src, -amount), L.Leg(dst, amount)]
            )
        )
        assert ok == (self.model.get(src, 0) >= amount)
        if ok:
            self._add(src, -amount)
            self._add(dst, amount)

    # --- invariants ---
    @invariant()
    def database_matches_model_and_auditor_is_happy(self) -> None:
        async def read() -> tuple[dict[L.AccountKey, int], Any]:
            async with self.resources.session_factory() as session, session.begin():
                report = await audit_ledger(session)
            async with self.resources.session_factory() as session:
                rows = (await session.scalars(select(Account))).all()
            return {
                L.AccountKey(a.owner_type, a.owner_id, a.currency, a.kind, a.label): a.balance for a in rows
            }, report

        balances, report = self.run(read())
        assert report.ok, report.violations
        expected = {k: v for k, v in self.model.items() if v}
        assert {k: v for k, v in balances.items() if v} == expected


TestLedgerStateful = LedgerMachine.TestCase
TestLedgerStateful.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
