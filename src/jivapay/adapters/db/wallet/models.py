"""The wallet: deposit addresses (derivation indexes, never keys), deposits seen on chain, and
each network's scan cursor with the block hashes it last saw (for reorg detection)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.base import Base, TimestampMixin
from jivapay.domain.wallet.deposits import STATUSES
from jivapay.domain.wallet.networks import FAMILIES
from jivapay.domain.wallet.withdrawals import STATUSES as WITHDRAWAL_STATUSES

OWNER_TYPES = ("trader", "store", "teamlead")
# one sequence hands out derivation indexes for every family: an index is never reused
ADDRESS_INDEX_SEQUENCE = sa.Sequence("wallet_address_index_seq", start=0, minvalue=0, metadata=Base.metadata)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class WalletAddress(Base):
    """An owner's deposit address on a network family (BSC and Arbitrum share the EVM one)."""

    __tablename__ = "wallet_addresses"
    __table_args__ = (
        sa.CheckConstraint(_in("owner_type", OWNER_TYPES), name="owner_type_known"),
        sa.CheckConstraint(_in("family", FAMILIES), name="family_known"),
        sa.UniqueConstraint("owner_type", "owner_id", "family"),
        sa.UniqueConstraint("family", "derivation_index"),
        sa.UniqueConstraint("family", "address"),
        # the monitor matches EVM recipients case-insensitively, a block's worth in one query
        sa.Index("ix_wallet_addresses_family_lower_address", "family", sa.text("lower(address)")),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    owner_type: Mapped[str] = mapped_column(sa.String(16))
    owner_id: Mapped[int] = mapped_column(sa.Integer)
    family: Mapped[str] = mapped_column(sa.String(8))
    derivation_index: Mapped[int] = mapped_column(sa.BigInteger)
    address: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class Deposit(Base, TimestampMixin):
    """A token transfer to one of our addresses, once per (network, tx hash, log index)."""

    __tablename__ = "wallet_deposits"
    __table_args__ = (
        sa.CheckConstraint(_in("status", STATUSES), name="status_known"),
        sa.CheckConstraint("amount >= 0 AND raw_amount >= 0 AND dust >= 0", name="amounts_not_negative"),
        sa.UniqueConstraint("network", "tx_hash", "log_index"),
        sa.Index("ix_wallet_deposits_owner", "owner_type", "owner_id", sa.text("id DESC")),
        sa.Index(
            "ix_wallet_deposits_watched",
            "network",
            "block_number",
            postgresql_where=sa.text("status IN ('pending', 'credited')"),
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    network: Mapped[str] = mapped_column(sa.String(20))
    tx_hash: Mapped[str] = mapped_column(sa.String(80))
    log_index: Mapped[int] = mapped_column(sa.Integer)
    block_number: Mapped[int] = mapped_column(sa.BigInteger)
    block_hash: Mapped[str] = mapped_column(sa.String(80))
    from_address: Mapped[str] = mapped_column(sa.String(64))
    to_address: Mapped[str] = mapped_column(sa.String(64))
    address_id: Mapped[int] = mapped_column(sa.ForeignKey("wallet_addresses.id"))
    owner_type: Mapped[str] = mapped_column(sa.String(16))
    owner_id: Mapped[int] = mapped_column(sa.Integer)
    raw_amount: Mapped[Decimal] = mapped_column(sa.Numeric(78, 0))  # the token's own units (uint256)
    amount: Mapped[int] = mapped_column(sa.BigInteger)  # micro-USDT credited (rounded down)
    dust: Mapped[Decimal] = mapped_column(sa.Numeric(78, 0))  # token units below one micro-USDT, never credited
    status: Mapped[str] = mapped_column(sa.String(16), server_default="pending")
    confirmations: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    generation: Mapped[int] = mapped_column(sa.Integer, server_default="0")  # +1 each time a reorg revives it
    credited_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    reversed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    ledger_transaction_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    reversal_transaction_id: Mapped[int | None] = mapped_column(sa.BigInteger)


class ChainCursor(Base):
    """Where a network's deposit scan stands; compare-and-set on ``next_block`` makes two scans safe."""

    __tablename__ = "wallet_chain_cursors"

    network: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    next_block: Mapped[int] = mapped_column(sa.BigInteger)  # the first block not yet scanned
    head: Mapped[int | None] = mapped_column(sa.BigInteger)  # the chain head at the last poll
    safe_head: Mapped[int | None] = mapped_column(sa.BigInteger)  # TRON: solidified; EVM: the head
    last_success_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    rpc_errors: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")  # failed RPC calls, ever
    deposits_credited: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")  # credits posted, ever
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now()
    )


class ScannedBlock(Base):
    """The hash of the last block of each scan step, kept for the recent window: a reorg changes it."""

    __tablename__ = "wallet_scanned_blocks"

    network: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    number: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(sa.String(80))


class Withdrawal(Base, TimestampMixin):
    """An owner's request to send USDT out; amount + fee held in the ledger until it ends."""

    __tablename__ = "wallet_withdrawals"
    __table_args__ = (
        sa.CheckConstraint(_in("owner_type", OWNER_TYPES), name="owner_type_known"),
        sa.CheckConstraint(_in("status", WITHDRAWAL_STATUSES), name="status_known"),
        sa.CheckConstraint("amount > 0 AND fee >= 0", name="amounts_positive"),
        sa.UniqueConstraint("owner_type", "owner_id", "idempotency_key"),
        sa.Index("ix_wallet_withdrawals_owner", "owner_type", "owner_id", sa.text("id DESC")),
        sa.Index(
            "ix_wallet_withdrawals_open",
            "network",
            "status",
            postgresql_where=sa.text("status IN ('requested', 'approved', 'broadcast')"),
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)  # wd_…, what owners and admins see
    owner_type: Mapped[str] = mapped_column(sa.String(16))
    owner_id: Mapped[int] = mapped_column(sa.Integer)
    network: Mapped[str] = mapped_column(sa.String(20))
    to_address: Mapped[str] = mapped_column(sa.String(64))
    amount: Mapped[int] = mapped_column(sa.BigInteger)  # micro-USDT the recipient receives
    fee: Mapped[int] = mapped_column(sa.BigInteger)  # micro-USDT to the platform; held with the amount
    status: Mapped[str] = mapped_column(sa.String(16), server_default="requested")
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(128))
    request_hash: Mapped[str] = mapped_column(sa.String(64))  # what the key was first used for
    approval_reasons: Mapped[list[str]] = mapped_column(JSONB, server_default=sa.text("'[]'::jsonb"))
    decided_by: Mapped[int | None] = mapped_column(sa.Integer)  # the admin who approved, rejected or canceled
    decided_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    failure_reason: Mapped[str | None] = mapped_column(sa.Text)
    waiting_reason: Mapped[str | None] = mapped_column(sa.String(64))  # approved but not sent yet: why
    nonce: Mapped[int | None] = mapped_column(sa.BigInteger)  # EVM: the hot wallet's nonce it holds
    tx_hash: Mapped[str | None] = mapped_column(sa.String(80))  # the latest attempt's
    block_number: Mapped[int | None] = mapped_column(sa.BigInteger)
    broadcast_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    source: Mapped[str] = mapped_column(sa.String(16), server_default="request")  # request | daily_payout


class WithdrawalAttempt(Base):
    """One signed transaction for a withdrawal, stored before it is sent. Later attempts replace it
    with the same nonce (EVM) or after it expired (TRON): at most one of them can ever be mined."""

    __tablename__ = "wallet_withdrawal_attempts"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    withdrawal_id: Mapped[int] = mapped_column(sa.ForeignKey("wallet_withdrawals.id"), index=True)
    tx_hash: Mapped[str] = mapped_column(sa.String(80), unique=True)
    signed: Mapped[str] = mapped_column(sa.Text)  # raw transaction hex (EVM) or the signed JSON (TRON)
    nonce: Mapped[int | None] = mapped_column(sa.BigInteger)
    gas_price: Mapped[Decimal | None] = mapped_column(sa.Numeric(78, 0))  # wei
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))  # TRON
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    gas_fee: Mapped[Decimal | None] = mapped_column(sa.Numeric(78, 0))  # native units it paid, once mined


class HotWalletNonce(Base):
    """The next nonce of one of our sending addresses on a network (the hot wallet, the gas tank),
    reserved here under the row's lock so one sender signs at a time."""

    __tablename__ = "wallet_nonces"

    network: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(sa.BigInteger)


SWEEP_STATUSES = ("fueling", "sweeping", "done", "failed")


class Sweep(Base, TimestampMixin):
    """Moving a deposit address's USDT to the hot wallet: gas first if it lacks any ("fueling", from
    the gas tank), then the token transfer. Every signed transaction is stored before it is sent;
    one open sweep per address and network, so the same funds are never swept twice."""

    __tablename__ = "wallet_sweeps"
    __table_args__ = (
        sa.CheckConstraint(_in("status", SWEEP_STATUSES), name="status_known"),
        sa.Index(
            "uq_wallet_sweeps_open",
            "network",
            "address_id",
            unique=True,
            postgresql_where=sa.text("status IN ('fueling', 'sweeping')"),
        ),
        sa.Index("ix_wallet_sweeps_network_status", "network", "status"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    network: Mapped[str] = mapped_column(sa.String(20))
    address_id: Mapped[int] = mapped_column(sa.ForeignKey("wallet_addresses.id"))
    address: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    raw_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(78, 0))  # the token units swept (when signed)
    fuel_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(78, 0))  # native units the gas tank sends
    fuel_tx_hash: Mapped[str | None] = mapped_column(sa.String(80))  # the latest fuel attempt's
    sweep_tx_hash: Mapped[str | None] = mapped_column(sa.String(80))  # the latest sweep attempt's
    error: Mapped[str | None] = mapped_column(sa.Text)
    stuck_reason: Mapped[str | None] = mapped_column(sa.String(64))  # why it is not moving (for the operators)
    completed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class SweepAttempt(Base):
    """One signed transaction of a sweep's step — ``fuel`` (gas tank → address, native coin) or
    ``sweep`` (address → hot wallet, the token) — stored before it is sent. The open attempts of a
    step (``closed_at`` unset) are one line: later ones replace earlier ones with the same nonce
    (EVM speed-up), so at most one of them is mined. A line is closed when one of them is mined
    (``mined``, with the native ``gas_fee`` it paid), or when none ever can be (TRON: expired; EVM:
    the nonce went to another transaction); the step then signs a new line."""

    __tablename__ = "wallet_sweep_attempts"
    __table_args__ = (sa.CheckConstraint("step IN ('fuel', 'sweep')", name="step_known"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    sweep_id: Mapped[int] = mapped_column(sa.ForeignKey("wallet_sweeps.id"), index=True)
    step: Mapped[str] = mapped_column(sa.String(8))
    tx_hash: Mapped[str] = mapped_column(sa.String(80), unique=True)
    signed: Mapped[str] = mapped_column(sa.Text)
    nonce: Mapped[int | None] = mapped_column(sa.BigInteger)
    gas_price: Mapped[Decimal | None] = mapped_column(sa.Numeric(78, 0))
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(78, 0))  # native (fuel) or token (sweep) units
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    mined: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    gas_fee: Mapped[Decimal | None] = mapped_column(sa.Numeric(78, 0))


class DailyPayout(Base, TimestampMixin):
    """A store's automatic daily payout: its available USDT above ``reserve`` goes to one address,
    once a day at ``hour_utc``, through the withdrawal pipeline. The address must be approved by
    an admin first (changing it withdraws the approval)."""

    __tablename__ = "wallet_daily_payouts"
    __table_args__ = (
        sa.CheckConstraint("hour_utc BETWEEN 0 AND 23", name="hour_utc_valid"),
        sa.CheckConstraint("reserve >= 0", name="reserve_not_negative"),
    )

    store_id: Mapped[int] = mapped_column(sa.ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    network: Mapped[str] = mapped_column(sa.String(20))
    to_address: Mapped[str] = mapped_column(sa.String(64))
    reserve: Mapped[int] = mapped_column(sa.BigInteger, server_default="0")  # micro-USDT kept on the store
    hour_utc: Mapped[int] = mapped_column(sa.SmallInteger, server_default="0")
    approved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(sa.Integer)
    last_run_on: Mapped[dt.date | None] = mapped_column(sa.Date)  # the UTC day of the last run
