"""Identity side effects that talk to the outside world."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.email import EmailMessageSpec, EmailSender
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import NotificationError
from jivapay.services.platform.notifications import login_failures_email, new_device_login_email
from jivapay.worker.actors.base import jivapay_actor

SENT_KEY = "jivapay:email:new_device:{}"
FAILURES_SENT_KEY = "jivapay:email:login_failures:{}"


async def _send_once(
    sent_key: str, remember_seconds: int, build: Callable[[AsyncSession], Awaitable[EmailMessageSpec | None]]
) -> None:
    """Build and send an e-mail unless ``sent_key`` says it went already (a redelivered message)."""
    resources = get_resources()
    if await resources.redis.exists(sent_key):
        return
    async with resources.session_factory() as session:
        spec = await build(session)
    if spec is None:
        return
    await EmailSender(resources.settings).send(spec)
    await resources.redis.set(sent_key, "1", ex=remember_seconds)


@jivapay_actor("identity.new_device_email", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def new_device_email(login_attempt_id: int) -> None:
    """E-mail the user about a login from a device we had not seen; once per login."""
    await _send_once(
        SENT_KEY.format(login_attempt_id), 7 * 86_400, lambda s: new_device_login_email(s, login_attempt_id)
    )


@jivapay_actor("identity.login_failures_email", max_retries=8, min_backoff_ms=30_000, also_retry=(NotificationError,))
async def login_failures_email_actor(user_id: int) -> None:
    """E-mail the owner of a login that strangers keep failing; at most once per quarter hour."""
    await _send_once(FAILURES_SENT_KEY.format(user_id), 900, lambda s: login_failures_email(s, user_id))
