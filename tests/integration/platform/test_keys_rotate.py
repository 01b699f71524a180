"""`jivapay keys rotate`: stored secrets move from the old SECRET_KEY to the new one, nothing else changes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import AuditLogEntry, IncomingOrder, Requisite, StoreSigningSecret
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.security import decrypt_secret, encrypt_secret
from jivapay.domain.errors import ConfigurationError
from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.requisites import RequisiteDirection, RequisiteType, luhn_ok
from jivapay.services.merchants import stores as store_service
from jivapay.services.orders.requisites import create_requisite
from jivapay.services.platform.keys import rotate_secrets_at_rest
from jivapay.settings import Settings, get_settings
from tests.e2e.conftest import jivapay_env, run_jivapay
from tests.factories import SYSTEM, make_user

OLD_KEY = "old-secret-key-that-is-being-retired-0123456789"
NEW_KEY = "new-secret-key-that-takes-over-now-0123456789ab"
UNKNOWN_KEY = "a-key-nobody-configured-anymore-0123456789abcd"
RECIPIENT = '{"number":"+79161234567","name":"Anna K.","bank_id":1}'


def _keyed(secret_key: str, previous: str = "") -> Settings:
    return get_settings().with_overrides(secret_key=secret_key, secret_key_previous=previous)


class Keys:
    """The settings of each phase (read lazily: the test environment is set up first)."""

    @property
    def old(self) -> Settings:
        return _keyed(OLD_KEY)

    @property
    def rotating(self) -> Settings:  # what the processes run with during a rotation
        return _keyed(NEW_KEY, OLD_KEY)

    @property
    def new(self) -> Settings:  # after SECRET_KEY_PREVIOUS is dropped
        return _keyed(NEW_KEY)


K = Keys()


def _card(seed: int) -> str:
    base = f"427616{seed:09d}"
    return next(base + d for d in "0123456789" if luhn_ok(base + d))


@dataclasses.dataclass
class Stored:
    """What was encrypted under the old key, by table and row id, with its plaintext."""

    plaintexts: dict[tuple[str, int], str]
    store_id: int
    requisite_id: int


async def _ciphertexts(factory: async_sessionmaker[AsyncSession]) -> dict[tuple[str, int], str]:
    async with factory() as session:
        secrets = (await session.execute(select(StoreSigningSecret.id, StoreSigningSecret.secret_encrypted))).all()
        numbers = (await session.execute(select(Requisite.id, Requisite.number_encrypted))).all()
        recipients = (
            await session.execute(
                select(IncomingOrder.id, IncomingOrder.recipient_encrypted).where(
                    IncomingOrder.recipient_encrypted.is_not(None)
                )
            )
        ).all()
    return {
        **{("store_signing_secrets", i): c for i, c in secrets},
        **{("requisites", i): c for i, c in numbers},
        **{("incoming_orders", i): c for i, c in recipients if c is not None},
    }


async def _requisite(factory: async_sessionmaker[AsyncSession], settings: Settings, number: str) -> int:
    trader = await make_user(factory, Role.TRADER)
    async with atomic(factory) as session:
        requisite = await create_requisite(
            session,
            settings,
            SYSTEM,
            trader_id=trader.id,
            type_=RequisiteType.CARD,
            bank_id=1,
            payment_method_id=1,
            currency="RUB",
            owner_name="Ivan Petrov",
            number=number,
            direction=RequisiteDirection.BOTH,
            limits={},
        )
    return requisite.id


async def _store_secrets_under_old_key(factory: async_sessionmaker[AsyncSession]) -> Stored:
    """A store with two signing secrets (mid-rotation), a requisite, a pay-out and a pay-in, all under the old key."""
    merchant = await make_user(factory, Role.MERCHANT)
    async with atomic(factory) as session:
        store, _ = await store_service.create_store(session, K.old, SYSTEM, merchant_id=merchant.id, name="Shop")
    async with atomic(factory) as session:
        await store_service.rotate_signing_secret(session, K.old, SYSTEM, merchant_id=merchant.id, store_id=store.id)
    number = _card(1)
    requisite_id = await _requisite(factory, K.old, number)
    async with atomic(factory) as session:
        common = {"store_id": store.id, "amount": 150_000, "currency": "RUB", "payment_method_id": 1}
        session.add(IncomingOrder(direction="payin", merchant_order_id="in-1", **common))
        payout = IncomingOrder(
            direction="payout",
            merchant_order_id="out-1",
            recipient_encrypted=encrypt_secret(K.old, RECIPIENT),
            recipient_last4="4567",
            **common,
        )
        session.add(payout)
    plaintexts = {key: decrypt_secret(K.old, c) for key, c in (await _ciphertexts(factory)).items()}
    assert sorted(t for t, _ in plaintexts) == [
        "incoming_orders",
        "requisites",
        "store_signing_secrets",
        "store_signing_secrets",
    ]
    assert plaintexts[("requisites", requisite_id)] == number
    return Stored(plaintexts, store.id, requisite_id)


async def _requisite_updated_at(factory: async_sessionmaker[AsyncSession], requisite_id: int) -> object:
    async with factory() as session:
        return await session.scalar(select(Requisite.updated_at).where(Requisite.id == requisite_id))


async def test_rotation_reencrypts_every_stored_secret_under_the_new_key(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    stored = await _store_secrets_under_old_key(session_factory)
    before = await _ciphertexts(session_factory)
    updated_at = await _requisite_updated_at(session_factory, stored.requisite_id)
    # the new key alone cannot read them; with the old one in SECRET_KEY_PREVIOUS the platform keeps working
    with pytest.raises(ConfigurationError, match="SECRET_KEY_PREVIOUS"):
        decrypt_secret(K.new, before[("requisites", stored.requisite_id)])
    async with session_factory() as session:
        signing = await store_service.signing_secrets(session, K.rotating, stored.store_id)
    assert sorted(signing) == sorted(p for (t, _), p in stored.plaintexts.items() if t == "store_signing_secrets")

    report = await rotate_secrets_at_rest(session_factory, K.rotating, batch_size=1)  # a batch per row

    assert report.ok
    assert report.failure() is None
    assert report.counts() == {
        "rotated": 4,
        "unreadable": 0,
        "tables": {
            "store_signing_secrets": {"checked": 2, "rotated": 2, "already_current": 0, "unreadable": 0},
            "requisites": {"checked": 1, "rotated": 1, "already_current": 0, "unreadable": 0},
            "incoming_orders": {"checked": 1, "rotated": 1, "already_current": 0, "unreadable": 0},
        },
    }
    after = await _ciphertexts(session_factory)
    assert after.keys() == before.keys()
    for key, ciphertext in after.items():
        assert ciphertext != before[key]
        assert decrypt_secret(K.new, ciphertext) == stored.plaintexts[key]  # the new key alone reads it, unchanged
        with pytest.raises(ConfigurationError):
            decrypt_secret(K.old, ciphertext)
    assert await _requisite_updated_at(session_factory, stored.requisite_id) == updated_at

    async with session_factory() as session:
        entries = (await session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "keys.rotate"))).all()
    assert [(e.actor_type, e.actor_id) for e in entries] == [("system", "keys-rotate")]
    assert entries[0].details == report.counts()

    # a second run (or one after a crash half-way) finds everything current and writes nothing
    again = await rotate_secrets_at_rest(session_factory, K.rotating)
    assert again.ok
    assert again.rotated == 0
    assert {name: t.already_current for name, t in again.tables.items()} == {
        "store_signing_secrets": 2,
        "requisites": 1,
        "incoming_orders": 1,
    }
    assert await _ciphertexts(session_factory) == after


async def test_a_row_no_key_reads_fails_the_rotation_by_table_and_id_and_is_left_alone(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    readable = await _requisite(session_factory, K.old, _card(2))
    lost_number = _card(3)
    lost = await _requisite(session_factory, _keyed(UNKNOWN_KEY), lost_number)
    before = await _ciphertexts(session_factory)

    report = await rotate_secrets_at_rest(session_factory, K.rotating)

    assert not report.ok
    assert report.tables["requisites"].unreadable_ids == [lost]
    assert report.counts()["tables"]["requisites"] == {
        "checked": 2,
        "rotated": 1,
        "already_current": 0,
        "unreadable": 1,
    }
    message = report.failure()
    assert message is not None
    assert "\n" not in message
    assert f"requisites: 1 (ids {lost})" in message
    assert lost_number not in message
    assert before[("requisites", lost)] not in message
    after = await _ciphertexts(session_factory)
    assert after[("requisites", lost)] == before[("requisites", lost)]
    assert decrypt_secret(K.new, after[("requisites", readable)]) == _card(2)


async def test_keys_rotate_command_prints_counts_is_idempotent_and_fails_on_an_unreadable_row(
    seeded: None, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    stored = await _store_secrets_under_old_key(session_factory)
    env = jivapay_env(SECRET_KEY=NEW_KEY, SECRET_KEY_PREVIOUS=OLD_KEY)

    def rotate() -> tuple[int, dict[str, object], str]:
        done = run_jivapay(["keys", "rotate", "--batch-size", "2"], env, tmp_path)
        lines = done.stdout.splitlines()
        assert len(lines) == 1, done.stdout + done.stderr
        return done.returncode, json.loads(lines[0]), done.stderr

    code, counts, stderr = await asyncio.to_thread(rotate)
    assert code == 0, stderr
    assert counts["rotated"] == 4
    assert counts["unreadable"] == 0
    for key, ciphertext in (await _ciphertexts(session_factory)).items():
        assert decrypt_secret(K.new, ciphertext) == stored.plaintexts[key]

    code, counts, stderr = await asyncio.to_thread(rotate)
    assert (code, counts["rotated"], counts["unreadable"]) == (0, 0, 0), stderr

    lost_number = _card(4)
    lost = await _requisite(session_factory, _keyed(UNKNOWN_KEY), lost_number)
    code, counts, stderr = await asyncio.to_thread(rotate)
    assert code == 1
    assert counts["unreadable"] == 1
    errors = [line for line in stderr.splitlines() if line.startswith("jivapay: error:")]
    assert len(errors) == 1, stderr
    assert f"requisites: 1 (ids {lost})" in errors[0]
    assert lost_number not in stderr


async def test_a_row_changed_back_to_the_old_key_is_picked_up_by_the_next_run(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Rows written by a process still on the old key during the rotation are caught by re-running."""
    requisite_id = await _requisite(session_factory, K.rotating, _card(5))
    assert (await rotate_secrets_at_rest(session_factory, K.rotating)).rotated == 0
    async with atomic(session_factory) as session:
        await session.execute(
            update(Requisite)
            .where(Requisite.id == requisite_id)
            .values(number_encrypted=encrypt_secret(K.old, _card(5)))
        )
    report = await rotate_secrets_at_rest(session_factory, K.rotating)
    assert report.rotated == 1
    assert decrypt_secret(K.new, (await _ciphertexts(session_factory))[("requisites", requisite_id)]) == _card(5)
