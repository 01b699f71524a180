"""Messages to people: what to send about an event (delivery is the worker's job)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.email import EmailMessageSpec
from jivapay.services.identity import directory
from jivapay.services.orders import records as order_records


async def new_device_login_email(session: AsyncSession, login_attempt_id: int) -> EmailMessageSpec | None:
    """The "new device signed in" e-mail for a login, or None when there is nobody to tell."""
    attempt = await directory.login_attempt(session, login_attempt_id)
    if attempt is None or attempt.user_id is None or not attempt.success or not attempt.new_device:
        return None
    user = await directory.find_user(session, attempt.user_id)
    if user is None or not user.email or user.anonymized_at is not None:
        return None
    location = ", ".join(part for part in (attempt.city, attempt.country) if part)
    return EmailMessageSpec(
        to=[user.email],
        subject="New sign-in to your JivaPay account",
        template="new_device_login",
        context={
            "login": user.login,
            "role": user.role,
            "when": attempt.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            "ip": str(attempt.ip) if attempt.ip else "unknown",
            "user_agent": attempt.user_agent or "unknown",
            "location": location,
        },
    )


async def review_alert_email(
    session: AsyncSession, incoming_order_id: int, recipients: list[str]
) -> EmailMessageSpec | None:
    """Tell support that an order waits for manual fraud review."""
    incoming = await order_records.find_incoming(session, incoming_order_id)
    if incoming is None or incoming.status != "review" or not recipients:
        return None
    return EmailMessageSpec(
        to=recipients,
        subject=f"Order {incoming.public_id} needs a fraud review",
        template="alert",
        context={
            "title": f"Order {incoming.public_id} is waiting for a manual review",
            "lines": [
                f"Store {incoming.store_id}, {incoming.direction}, amount {incoming.amount} (minor units) "
                f"{incoming.currency}",
                f"Merchant order id: {incoming.merchant_order_id}",
                f"Why: {incoming.failure_reason or 'fraud rules'}",
            ],
            "link": "",
        },
    )


ORDER_ALERTS = {
    "dispute": ("Order {id} is disputed", "Order {id} is in dispute and waits for support"),
    "receipt_reused": (
        "Order {id}: a receipt was reused",
        "A receipt uploaded for order {id} was already used on other orders (possible fraud)",
    ),
    "settlement_failed": (
        "Order {id} could not be settled",
        "Order {id} is completed but its settlement could not be posted (see the order's settlement_error)",
    ),
}


async def order_alert_email(
    session: AsyncSession, order_id: int, kind: str, recipients: list[str]
) -> EmailMessageSpec | None:
    """Tell support about an order that needs a person: a dispute, a reused receipt."""
    order = await order_records.find_order(session, order_id)
    if order is None or kind not in ORDER_ALERTS or not recipients:
        return None
    if kind == "dispute" and order.status != "disputed":
        return None  # resolved before the alert went out
    subject, title = ORDER_ALERTS[kind]
    return EmailMessageSpec(
        to=recipients,
        subject=subject.format(id=order.public_id),
        template="alert",
        context={
            "title": title.format(id=order.public_id),
            "lines": [
                f"Store {order.store_id}, trader {order.trader_id}, {order.direction}, amount {order.amount} "
                f"(minor units) {order.currency}",
                f"Status: {order.status}",
            ],
            "link": "",
        },
    )


async def login_failures_email(session: AsyncSession, user_id: int) -> EmailMessageSpec | None:
    """Tell the owner that someone keeps failing to sign in as them (the login is slowed down)."""
    user = await directory.find_user(session, user_id)
    if user is None or not user.email or user.anonymized_at is not None:
        return None
    recent = await directory.recent_login_attempts(session, user.id, limit=20)
    failed = [a for a in recent if not a.success]
    ips = sorted({str(a.ip) for a in failed if a.ip})[:5]
    return EmailMessageSpec(
        to=[user.email],
        subject="Repeated failed sign-ins to your JivaPay account",
        template="login_failures",
        context={"login": user.login, "role": user.role, "failures": len(failed), "ips": ips},
    )
