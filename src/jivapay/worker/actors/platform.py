"""Platform actors: alerts to staff (support and operators: a Sentry warning event and an e-mail),
the exchange-rate refresh from the configured source, and the end-to-end probe of the job path."""

from __future__ import annotations

from dramatiq.middleware import CurrentMessage

from jivapay.adapters.email import EmailSender
from jivapay.adapters.notifications import report_attention
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import NotificationError
from jivapay.services.platform.notifications import order_alert_email, review_alert_email
from jivapay.services.platform.reference_data import configured_source, refresh_rates
from jivapay.worker.actors.base import jivapay_actor

SENT_KEY = "jivapay:email:review:{}"
ORDER_SENT_KEY = "jivapay:email:order:{}:{}"
PING_KEY = "jivapay:ping:{}"
REPORTED_KEY = "jivapay:sentry:{}:{}"  # one Sentry event per order and kind, whatever the e-mail retries


@jivapay_actor("notifications.review_alert", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def review_alert(incoming_order_id: int) -> None:
    resources = get_resources()
    if await resources.redis.set(REPORTED_KEY.format("review", incoming_order_id), "1", ex=7 * 86_400, nx=True):
        report_attention("an incoming order waits for a fraud review", incoming_order_id=incoming_order_id)
    key = SENT_KEY.format(incoming_order_id)
    if await resources.redis.exists(key):
        return
    recipients = [a.strip() for a in resources.settings.alert_emails.split(",") if a.strip()]
    async with resources.session_factory() as session:
        spec = await review_alert_email(session, incoming_order_id, recipients)
    if spec is None:
        return
    await EmailSender(resources.settings).send(spec)
    await resources.redis.set(key, "1", ex=7 * 86_400)


@jivapay_actor("notifications.order_alert", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def order_alert(order_id: int, kind: str) -> None:
    """E-mail support (ALERT_EMAILS) about an order that needs a person; sent once per order and kind."""
    resources = get_resources()
    if await resources.redis.set(REPORTED_KEY.format(kind, order_id), "1", ex=7 * 86_400, nx=True):
        report_attention(f"order needs support: {kind}", order_id=order_id, kind=kind)
    key = ORDER_SENT_KEY.format(kind, order_id)
    if await resources.redis.exists(key):
        return
    recipients = [a.strip() for a in resources.settings.alert_emails.split(",") if a.strip()]
    async with resources.session_factory() as session:
        spec = await order_alert_email(session, order_id, kind, recipients)
    if spec is None:
        return
    await EmailSender(resources.settings).send(spec)
    await resources.redis.set(key, "1", ex=7 * 86_400)


@jivapay_actor("rates.refresh", max_retries=2, time_limit_ms=120_000)
async def refresh_exchange_rates() -> None:
    source = await configured_source()
    if source is not None:
        await refresh_rates(source)


@jivapay_actor("system.ping", max_retries=3, time_limit_ms=10_000)
async def ping(ping_id: str) -> None:
    """Record that a ping ran (idempotent: a redelivery writes the same key)."""
    message = CurrentMessage.get_current_message()
    await get_resources().redis.set(PING_KEY.format(ping_id), message.message_id if message else "1", ex=86_400)
