from __future__ import annotations

from collections.abc import Iterator

import pytest

from jivapay.adapters.email import EmailMessageSpec, EmailSender
from jivapay.domain.errors import NotificationError
from jivapay.settings import Settings, load_settings
from tests.fixtures.smtp import SMTPReceiver

CONTEXT = {
    "login": "anna",
    "role": "merchant",
    "when": "2026-11-22 10:00 UTC",
    "ip": "81.2.69.142",
    "user_agent": "<script>alert(1)</script>",
    "location": "London, United Kingdom",
}


@pytest.fixture
def smtp() -> Iterator[SMTPReceiver]:
    receiver = SMTPReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


def _settings(**overrides: object) -> Settings:
    return load_settings({}, env_file=None).with_overrides(**overrides)


async def test_new_device_email_arrives_with_text_and_escaped_html(smtp: SMTPReceiver) -> None:
    sender = EmailSender(_settings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls="false"))
    await sender.send(EmailMessageSpec(["anna@example.com"], "New sign-in", "new_device_login", CONTEXT))
    [message] = smtp.wait_for(1)
    assert message["Subject"] == "New sign-in"
    assert message["To"] == "anna@example.com"
    assert "no-reply@jivapay.local" in message["From"]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "London, United Kingdom" in text.get_content()
    assert "<script>" not in html.get_content()
    assert "&lt;script&gt;" in html.get_content()


async def test_unreachable_smtp_is_a_notification_error() -> None:
    sender = EmailSender(_settings(smtp_host="127.0.0.1", smtp_port=1, smtp_starttls="false", smtp_timeout_seconds=2))
    with pytest.raises(NotificationError) as info:
        await sender.send(EmailMessageSpec(["a@example.com"], "x", "alert", {"title": "t", "lines": [], "link": ""}))
    assert "password" not in str(info.value.details)


async def test_without_smtp_host_nothing_is_sent(smtp: SMTPReceiver) -> None:
    await EmailSender(_settings()).send(
        EmailMessageSpec(["a@example.com"], "x", "alert", {"title": "t", "lines": ["one"], "link": ""})
    )
    assert smtp.messages == []
