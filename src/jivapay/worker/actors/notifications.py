"""Alerts to staff (support and operators) by e-mail."""

from __future__ import annotations

from jivapay.adapters.email import EmailSender
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import NotificationError
from jivapay.services.notifications import review_alert_email
from jivapay.worker.actors.base import jivapay_actor

SENT_KEY = "jivapay:email:review:{}"


@jivapay_actor("notifications.review_alert", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def review_alert(incoming_order_id: int) -> None:
    resources = get_resources()
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
