"""Identity side effects that talk to the outside world."""

from __future__ import annotations

from jivapay.adapters.email import EmailSender
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import NotificationError
from jivapay.services.notifications import login_failures_email, new_device_login_email
from jivapay.worker.actors.base import jivapay_actor

SENT_KEY = "jivapay:email:new_device:{}"


@jivapay_actor("identity.new_device_email", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def new_device_email(login_attempt_id: int) -> None:
    """E-mail the user about a login from a device we had not seen; once per login."""
    resources = get_resources()
    key = SENT_KEY.format(login_attempt_id)
    if await resources.redis.exists(key):
        return
    async with resources.session_factory() as session:
        spec = await new_device_login_email(session, login_attempt_id)
    if spec is None:
        return
    await EmailSender(resources.settings).send(spec)
    await resources.redis.set(key, "1", ex=7 * 86_400)


FAILURES_SENT_KEY = "jivapay:email:login_failures:{}"


@jivapay_actor("identity.login_failures_email", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def login_failures_email_actor(user_id: int) -> None:
    """E-mail the owner of a login that strangers keep failing; at most once per quarter hour."""
    resources = get_resources()
    key = FAILURES_SENT_KEY.format(user_id)
    if await resources.redis.exists(key):
        return
    async with resources.session_factory() as session:
        spec = await login_failures_email(session, user_id)
    if spec is None:
        return
    await EmailSender(resources.settings).send(spec)
    await resources.redis.set(key, "1", ex=900)
