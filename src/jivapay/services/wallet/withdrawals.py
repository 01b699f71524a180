"""Withdrawal requests: asking (validated, limited, idempotent, amount + fee held), approving by
the rules or an admin, rejecting, canceling; what owners and admins see. Sending is
``services/wallet/sender.py``.

Every transition is audited, queues an e-mail to the owner (``wallet.withdrawal_notice``) and,
for a store, a signed callback ``withdrawal.<status>``, all in the transition's transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import secrets
import string
from decimal import Decimal
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.chains.addresses import normalize_destination
from jivapay.adapters.chains.keys import GAS_TANK_ACCOUNT, HOT_WALLET_ACCOUNT, key_provider
from jivapay.adapters.db.wallet.addresses import AddressRepository
from jivapay.adapters.db.wallet.deposits import DepositRepository
from jivapay.adapters.db.wallet.models import Withdrawal
from jivapay.adapters.db.wallet.withdrawals import WithdrawalRepository
from jivapay.adapters.email import EmailMessageSpec
from jivapay.domain.errors import Conflict, NotFound, ValidationFailed
from jivapay.domain.ledger.posting import USDT_DECIMALS, format_amount, parse_amount, to_usdt_units
from jivapay.domain.money import DecimalText
from jivapay.domain.platform.audit import Actor, Target
from jivapay.domain.wallet import withdrawals as rules
from jivapay.networks import get_network
from jivapay.services.ledger import posting
from jivapay.services.merchants import callbacks
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.config import get_config
from jivapay.services.platform.outbox import enqueue_after_commit
from jivapay.services.wallet.addresses import open_network
from jivapay.services.wallet.deposits import owner_email
from jivapay.settings import get_settings

_ALPHABET = string.ascii_lowercase + string.digits
_PUBLIC_ID = re.compile(r"^wd_[0-9a-z]{20}$")
DAY = dt.timedelta(hours=24)
RESERVED_KEY_PREFIX = "jivapay:"  # the platform's own withdrawals (daily payouts) use keys under it


def new_public_id() -> str:
    return "wd_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


@dataclasses.dataclass(frozen=True, slots=True)
class WithdrawalView:
    id: str  # wd_…
    owner_type: str
    owner_id: int
    network: str
    to_address: str
    amount: DecimalText  # what the recipient receives
    fee: DecimalText
    total: DecimalText  # held from the owner: amount + fee
    currency: str
    status: rules.WithdrawalStatus
    approval_reasons: list[str]  # why it waits for an admin (empty: approved by the rules)
    decision_reason: str | None
    failure_reason: str | None
    waiting_reason: str | None  # approved but not sent yet: why (hot_wallet_short …)
    tx_hash: str | None
    block_number: int | None
    created_at: dt.datetime
    broadcast_at: dt.datetime | None
    completed_at: dt.datetime | None


def view(w: Withdrawal) -> WithdrawalView:
    return WithdrawalView(
        id=w.public_id,
        owner_type=w.owner_type,
        owner_id=w.owner_id,
        network=w.network,
        to_address=w.to_address,
        amount=format_amount(w.amount, USDT_DECIMALS),
        fee=format_amount(w.fee, USDT_DECIMALS),
        total=format_amount(w.amount + w.fee, USDT_DECIMALS),
        currency="USDT",
        status=cast(rules.WithdrawalStatus, w.status),
        approval_reasons=list(w.approval_reasons or []),
        decision_reason=w.decision_reason,
        failure_reason=w.failure_reason,
        waiting_reason=w.waiting_reason,
        tx_hash=w.tx_hash,
        block_number=w.block_number,
        created_at=w.created_at,
        broadcast_at=w.broadcast_at,
        completed_at=w.completed_at,
    )


def _fingerprint(network: str, to_address: str, amount: int) -> str:
    return hashlib.sha256(f"{network}|{to_address}|{amount}".encode()).hexdigest()


async def _limits(session: AsyncSession, owner_type: str) -> tuple[int, int]:
    table = await get_config("WITHDRAWAL_LIMITS_USDT", dict, session=session)
    limits = table.get(owner_type, {})
    per_request = to_usdt_units(Decimal(str(limits.get("per_request", "0"))), up=False)
    daily = to_usdt_units(Decimal(str(limits.get("daily", "0"))), up=False)
    return per_request, daily


async def _platform_addresses(family: str) -> set[str]:
    settings = get_settings()
    keys = key_provider(settings.wallet_mnemonic, settings.wallet_mnemonic_passphrase)
    return {keys.address(family, 0, account) for account in (HOT_WALLET_ACCOUNT, GAS_TANK_ACCOUNT)}  # type: ignore[arg-type]


async def request_withdrawal(
    session: AsyncSession,
    actor: Actor,
    owner_type: str,
    owner_id: int,
    *,
    network: str | None,
    to_address: str | None,
    amount: str | None,
    idempotency_key: str | None,
    ip: str | None = None,
    approved_address: bool = False,
    source: str = "request",
) -> tuple[WithdrawalView, bool]:
    """(the withdrawal, made now?) — a replay with the same Idempotency-Key and body returns the first."""
    chain = open_network(network)
    if amount is None:
        raise ValidationFailed("amount is required", field="amount")
    units = parse_amount(amount, USDT_DECIMALS, field="amount")
    if units <= 0:
        raise ValidationFailed("amount must be positive", field="amount")
    if units < chain.min_withdrawal:
        raise ValidationFailed(
            f"the smallest withdrawal on {chain.name} is {format_amount(chain.min_withdrawal, USDT_DECIMALS)} USDT",
            field="amount",
            min_withdrawal=format_amount(chain.min_withdrawal, USDT_DECIMALS),
        )
    destination = normalize_destination(chain.family, to_address or "")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 128:
        raise ValidationFailed("Idempotency-Key must be 1-128 characters", field="Idempotency-Key")
    if idempotency_key and idempotency_key.startswith(RESERVED_KEY_PREFIX) and source == "request":
        raise ValidationFailed(
            f"Idempotency-Keys starting {RESERVED_KEY_PREFIX!r} are the platform's", field="Idempotency-Key"
        )
    repo = WithdrawalRepository(session)
    fingerprint = _fingerprint(chain.name, destination, units)
    if idempotency_key:
        earlier = await repo.by_key(owner_type, owner_id, idempotency_key)
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise Conflict("This Idempotency-Key was used for another withdrawal", withdrawal_id=earlier.public_id)
            return view(earlier), False
    platform = await _platform_addresses(chain.family) | {normalize_destination(chain.family, chain.token_contract)}
    if await AddressRepository(session).is_ours(chain.family, destination) or destination in platform:
        raise ValidationFailed("that address belongs to the platform: withdraw to your own wallet", field="to_address")
    await repo.lock_owner(owner_type, owner_id)  # two requests at once must not both pass the 24-hour limit
    per_request, daily = await _limits(session, owner_type)
    if units > per_request:
        raise ValidationFailed(
            f"a withdrawal may be at most {format_amount(per_request, USDT_DECIMALS)} USDT",
            field="amount",
            limit=format_amount(per_request, USDT_DECIMALS),
        )
    recent = await repo.withdrawn_since(owner_type, owner_id, dt.datetime.now(dt.UTC) - DAY)
    if recent + units > daily:
        raise ValidationFailed(
            f"this would take the last 24 hours' withdrawals past {format_amount(daily, USDT_DECIMALS)} USDT",
            field="amount",
            limit=format_amount(daily, USDT_DECIMALS),
            withdrawn=format_amount(recent, USDT_DECIMALS),
        )
    reasons: list[str] = []
    threshold = await get_config("WITHDRAWAL_APPROVAL_THRESHOLD_USDT", Decimal, session=session)
    if units >= to_usdt_units(threshold, up=True):
        reasons.append("above_threshold")
    if not approved_address and not await repo.has_completed_to(owner_type, owner_id, chain.name, destination):
        reasons.append("new_address")
    if await DepositRepository(session).has_unrecovered_reversal(owner_type, owner_id):
        reasons.append("fraud_flag")  # a deposit of theirs was reorged out after they spent it
    withdrawal = await repo.add(
        Withdrawal(
            public_id=new_public_id(),
            owner_type=owner_type,
            owner_id=owner_id,
            network=chain.name,
            to_address=destination,
            amount=units,
            fee=chain.withdrawal_fee,
            status="requested",
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            approval_reasons=reasons,
            source=source,
        )
    )
    # InsufficientBalance here rolls the request back with the hold: nothing is left behind
    await posting.hold_withdrawal(
        session, owner_type, owner_id, units + chain.withdrawal_fee, withdrawal.public_id, chain.name
    )
    await record_transition(session, withdrawal, actor, "requested", ip=ip)
    if not reasons:
        await _approve(session, withdrawal, actor, by="rules", ip=ip)
    return view(withdrawal), True


async def record_transition(
    session: AsyncSession, w: Withdrawal, actor: Actor, event: str, *, ip: str | None = None, **facts: Any
) -> None:
    """Audit, e-mail and (stores) callback for a transition, in its transaction."""
    await log_action(
        session,
        actor,
        f"wallet.withdrawal_{event}",
        Target.of("withdrawal", w.public_id),
        {"owner_type": w.owner_type, "owner_id": w.owner_id, "amount": w.amount, "fee": w.fee, **facts},
        ip=ip,
    )
    await enqueue_after_commit(session, "wallet.withdrawal_notice", withdrawal_id=w.id, event=event)
    if w.owner_type == "store":
        await session.flush()
        body = dataclasses.asdict(view(w))
        body = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in body.items()}
        await callbacks.record_store_event(session, w.owner_id, f"withdrawal.{event}", "withdrawal", body)


async def _approve(session: AsyncSession, w: Withdrawal, actor: Actor, *, by: str, ip: str | None = None) -> None:
    rules.check_move(w.status, "approved", by, withdrawal=w.public_id)
    w.status = "approved"
    await record_transition(session, w, actor, "approved", ip=ip, by=by)
    await enqueue_after_commit(session, "wallet.send_withdrawal", withdrawal_id=w.id)


async def _owned(session: AsyncSession, owner_type: str, owner_id: int, public_id: str, *, lock: bool) -> Withdrawal:
    found = (
        await WithdrawalRepository(session).by_public_id(public_id, lock=lock) if _PUBLIC_ID.match(public_id) else None
    )
    if found is None or (owner_type and (found.owner_type, found.owner_id) != (owner_type, owner_id)):
        raise NotFound("Withdrawal not found", withdrawal_id=public_id)
    return found


async def owner_withdrawal(session: AsyncSession, owner_type: str, owner_id: int, public_id: str) -> WithdrawalView:
    return view(await _owned(session, owner_type, owner_id, public_id, lock=False))


async def any_withdrawal(session: AsyncSession, public_id: str) -> WithdrawalView:
    return view(await _owned(session, "", 0, public_id, lock=False))


async def cancel(
    session: AsyncSession,
    actor: Actor,
    public_id: str,
    *,
    owner: tuple[str, int] | None,
    reason: str | None = None,
    ip: str | None = None,
) -> WithdrawalView:
    """The owner's (``owner``) or an admin's (``owner`` None) cancel, before anything was signed."""
    w = await _owned(session, *(owner or ("", 0)), public_id, lock=True)
    rules.check_move(w.status, "canceled", "owner" if owner else "admin", withdrawal=w.public_id)
    if owner is None and not (reason or "").strip():
        raise ValidationFailed("a reason is required", field="reason")
    w.status = "canceled"
    if owner is None:
        w.decided_by, w.decided_at, w.decision_reason = _admin_id(actor), dt.datetime.now(dt.UTC), reason
    await posting.cancel_withdrawal(session, w.public_id)
    await record_transition(session, w, actor, "canceled", ip=ip, reason=reason)
    return view(w)


def _admin_id(actor: Actor) -> int | None:
    return int(actor.id) if actor.type == "user" and actor.id and actor.id.isdigit() else None


async def approve(session: AsyncSession, actor: Actor, public_id: str, *, ip: str | None = None) -> WithdrawalView:
    w = await _owned(session, "", 0, public_id, lock=True)
    w.decided_by, w.decided_at = _admin_id(actor), dt.datetime.now(dt.UTC)
    await _approve(session, w, actor, by="admin", ip=ip)
    return view(w)


async def reject(
    session: AsyncSession, actor: Actor, public_id: str, *, reason: str | None, ip: str | None = None
) -> WithdrawalView:
    if not (reason or "").strip():
        raise ValidationFailed("a reason is required", field="reason")
    w = await _owned(session, "", 0, public_id, lock=True)
    rules.check_move(w.status, "rejected", "admin", withdrawal=w.public_id)
    w.status = "rejected"
    w.decided_by, w.decided_at, w.decision_reason = _admin_id(actor), dt.datetime.now(dt.UTC), (reason or "").strip()
    await posting.cancel_withdrawal(session, w.public_id)
    await record_transition(session, w, actor, "rejected", ip=ip, reason=w.decision_reason)
    return view(w)


@dataclasses.dataclass(frozen=True, slots=True)
class WithdrawalFilter:
    owner_type: str | None = None
    owner_id: int | None = None
    network: str | None = None
    status: str | None = None

    def checked(self) -> WithdrawalFilter:
        if self.status is not None and self.status not in rules.STATUSES:
            raise ValidationFailed(f"unknown status {self.status!r}", field="status", statuses=list(rules.STATUSES))
        if self.network is not None and get_network(self.network.upper()) is None:
            raise ValidationFailed(f"unknown network {self.network!r}", field="network")
        if self.owner_type is not None and self.owner_type not in rules.OWNER_TYPES:
            raise ValidationFailed("owner_type must be trader, store or teamlead", field="owner_type")
        return dataclasses.replace(self, network=self.network.upper() if self.network else None)


async def page(
    session: AsyncSession, where: WithdrawalFilter, *, starting_after: int | None, limit: int
) -> tuple[list[WithdrawalView], int | None]:
    """Newest first: (the page, the cursor of the next page or None)."""
    rows = await WithdrawalRepository(session).page(
        limit=limit + 1, starting_after=starting_after, **dataclasses.asdict(where.checked())
    )
    more = len(rows) > limit
    return [view(w) for w in rows[:limit]], rows[limit - 1].id if more else None


async def notice_email(session: AsyncSession, withdrawal_id: int, event: str) -> EmailMessageSpec | None:
    """The owner's e-mail about a transition (None when there is nobody to write to)."""
    w = await WithdrawalRepository(session).get(withdrawal_id)
    if w is None:
        return None
    to = await owner_email(session, w.owner_type, w.owner_id)
    if to is None:
        return None
    v = view(w)
    return EmailMessageSpec(
        to=[to],
        subject=f"Withdrawal {v.id}: {event} ({v.amount} USDT, {v.network})",
        template="withdrawal",
        context={"event": event, **dataclasses.asdict(v)},
    )
