"""The fraud detector: counts velocity in Redis, reads the rules from configuration, decides."""

from __future__ import annotations

import ipaddress
import logging
import time
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IncomingOrder
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.platform.config import ConfigurationRepository
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.notifications import report_critical_error
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.orders.fraud import Decision, FraudRules, OrderFacts, Verdict, evaluate
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.platform.audit import AuditEntry, log_actions
from jivapay.services.platform.config import get_config, read_config, set_config

log = logging.getLogger("jivapay.fraud")
FRAUD = Actor.system("fraud")


async def load_rules(session: AsyncSession | None = None) -> FraudRules:
    def amounts(raw: object) -> dict[str, Decimal]:
        return {str(k): Decimal(str(v)) for k, v in dict(raw).items()} if isinstance(raw, dict) else {}

    return FraudRules(
        review_amount=amounts(await get_config("FRAUD_REVIEW_AMOUNT", dict, session=session)),
        deny_amount=amounts(await get_config("FRAUD_DENY_AMOUNT", dict, session=session)),
        max_per_client=await get_config("FRAUD_VELOCITY_MAX_PER_CLIENT", int, session=session),
        max_per_ip=await get_config("FRAUD_VELOCITY_MAX_PER_IP", int, session=session),
        max_per_card=await get_config("FRAUD_VELOCITY_MAX_PER_CARD", int, session=session),
        max_unpaid_per_client=await get_config("FRAUD_MAX_UNPAID_ORDERS_PER_CLIENT", int, session=session),
        blocked_client_ids=frozenset(map(str, await get_config("FRAUD_BLOCKED_CLIENT_IDS", list, session=session))),
        blocked_ips=frozenset(map(str, await get_config("FRAUD_BLOCKED_IPS", list, session=session))),
        blocked_card_bins=frozenset(map(str, await get_config("FRAUD_BLOCKED_CARD_BINS", list, session=session))),
    )


VELOCITY_PREFIX = "jivapay:velocity:"


async def _velocity(order: IncomingOrder, window: int, **values: str | None) -> dict[str, int]:
    """Per kind given (client, ip, card): the orders with that value created in the ``window``
    seconds up to this one, this one included.

    A sorted set per value: member the incoming order's id, score its creation time. Adding is
    idempotent, so an order counts once however often it is assessed (retries, attempts whose
    transaction rolled back), and its count does not depend on when it is assessed. Plain ZSET
    commands in one MULTI: atomic on Redis 6.2 (the embedded one) as on 7.x, one round trip.
    """
    keys = {kind: f"{VELOCITY_PREFIX}{kind}:{value}" for kind, value in values.items() if value}
    if not keys:
        return {}
    created = order.created_at.timestamp() if order.created_at else time.time()
    try:
        async with get_resources().redis.pipeline(transaction=True) as pipe:
            for key in keys.values():
                pipe.zremrangebyscore(key, "-inf", f"({time.time() - window}")  # out of every future window
                pipe.zadd(key, {str(order.id): created}, nx=True)
                pipe.zcount(key, created - window, created)
                pipe.expire(key, window + 60)  # past every member's window (and some clock skew)
            results = await pipe.execute()
    except Exception as exc:  # noqa: BLE001 - without Redis, velocity rules cannot fire: say so
        report_critical_error(exc, "fraud velocity counters unavailable", incoming_order_id=order.id)
        return {}
    return {kind: int(results[4 * n + 2]) for n, kind in enumerate(keys)}


async def check_incoming_order(session: AsyncSession, order: IncomingOrder) -> Verdict:
    """ALLOW / DENY / REQUIRE_MANUAL_REVIEW, stored with its reasons in the audit log."""
    verdict, entry = await assess_incoming_order(session, order)
    await log_actions(session, [entry])
    return verdict


async def assess_incoming_order(session: AsyncSession, order: IncomingOrder) -> tuple[Verdict, AuditEntry]:
    """The verdict and its audit entry, for a caller that records it with its own entries.

    An order that support cleared after a manual review is not asked again."""
    if order.fraud_cleared_by is not None:
        cleared = Verdict(Decision.ALLOW, ())
        details = {"reasons": [], "cleared_by": order.fraud_cleared_by}
        return cleared, AuditEntry(FRAUD, "fraud.allow", Target.of("incoming_order", order.id), details)
    rules = await load_rules(session)
    window = await get_config("FRAUD_VELOCITY_WINDOW_SECONDS", int, session=session)
    minor_units = await ReferenceRepository(session).fiat_minor_units(order.currency)
    client_ip = str(order.client_ip) if order.client_ip else None
    counts = await _velocity(
        order,
        window,
        # a client id is the merchant's own: the same id in two stores is two people
        client=f"{order.store_id}:{order.client_id}" if order.client_id else None,
        ip=client_ip,
        card=order.client_card_bin,
    )
    facts = OrderFacts(
        amount=Decimal(order.amount) / (Decimal(10) ** minor_units),
        currency=order.currency,
        client_id=order.client_id,
        client_ip=client_ip,
        card_bin=order.client_card_bin,
        orders_by_client=counts.get("client", 0),
        orders_by_ip=counts.get("ip", 0),
        orders_by_card=counts.get("card", 0),
        unpaid_by_client=await OrderRepository(session).unpaid_orders_of_client(order.store_id, order.client_id)
        if order.client_id
        else 0,
    )
    verdict = evaluate(facts, rules)
    entry = AuditEntry(
        FRAUD,
        f"fraud.{verdict.decision.value}",
        Target.of("incoming_order", order.id),
        {"reasons": list(verdict.reasons), "amount": str(facts.amount), "currency": order.currency},
    )
    if verdict.decision != Decision.ALLOW:
        log.info(
            "fraud decision",
            extra={"incoming_order_id": order.id, "decision": verdict.decision.value, "reasons": verdict.reasons},
        )
    return verdict, entry


# --- blocklists (admins with manage_settings) --------------------------------------------

BLOCKLISTS = {
    "client_ids": "FRAUD_BLOCKED_CLIENT_IDS",
    "ips": "FRAUD_BLOCKED_IPS",
    "card_bins": "FRAUD_BLOCKED_CARD_BINS",
}


def _blocklist_key(kind: str) -> str:
    key = BLOCKLISTS.get(kind)
    if key is None:
        raise ValidationFailed("unknown blocklist", field="kind", allowed=sorted(BLOCKLISTS))
    return key


def normalize_blocklist_value(kind: str, value: str) -> str:
    """The value as the rules compare it; ValidationFailed for one that could never match."""
    _blocklist_key(kind)
    value = value.strip()
    if kind == "ips":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValidationFailed("not an IP address", field="value") from None
    if kind == "card_bins":
        if not (6 <= len(value) <= 8 and value.isdigit()):
            raise ValidationFailed("a card BIN is 6-8 digits", field="value")
        return value
    if not 1 <= len(value) <= 128:
        raise ValidationFailed("a client id is 1-128 characters", field="value")
    return value


async def blocklists(session: AsyncSession) -> dict[str, list[str]]:
    return {kind: sorted(map(str, await get_config(key, list, session=session))) for kind, key in BLOCKLISTS.items()}


async def change_blocklist(
    session: AsyncSession, kind: str, value: str, *, add: bool, actor: Actor, ip: str | None = None
) -> list[str]:
    """Add or remove one entry; concurrent changes of one list queue on an advisory lock, so none
    is lost. Takes effect for the next order (the configuration cache is dropped on commit)."""
    key = _blocklist_key(kind)
    value = normalize_blocklist_value(kind, value)
    await ConfigurationRepository(session).lock_key(key)
    current = [str(v) for v in await read_config(session, key, list)]
    if add and value in current:
        return sorted(current)
    if not add and value not in current:
        raise NotFound("The value is not on this blocklist", kind=kind, value=value)
    updated = sorted({*current, value} if add else set(current) - {value})
    await set_config(session, key, updated, actor=actor, ip=ip)
    await log_actions(
        session,
        [
            AuditEntry(
                actor,
                "fraud.blocklist_add" if add else "fraud.blocklist_remove",
                Target.of("blocklist", kind),
                {"value": value},
                ip,
            )
        ],
    )
    return updated
