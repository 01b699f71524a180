from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from jivapay.adapters.email import EmailMessageSpec, EmailSender
from jivapay.domain.errors import NotificationError
from jivapay.settings import Settings, load_settings
from tests.fixtures.smtp import SMTPReceiver

CONTEXT: dict[str, Any] = {
    "login": "anna",
    "role": "merchant",
    "when": "2026-11-22 10:00 UTC",
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 <script>alert(1)</script>",
    "location": "Amsterdam, Netherlands",
}


@pytest.fixture
def smtp() -> Iterator[SMTPReceiver]:
    receiver = SMTPReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


def _settings(**overrides: Any) -> Settings:
    return load_settings({}, env_file=None).with_overrides(**overrides)


def _smtp_settings(smtp: SMTPReceiver, **overrides: Any) -> Settings:
    return _settings(smtp_host=smtp.host, smtp_port=smtp.port, smtp_starttls="false", **overrides)


async def test_new_device_email_arrives_with_text_and_escaped_html(smtp: SMTPReceiver) -> None:
    sender = EmailSender(_smtp_settings(smtp, smtp_from="JivaPay Security <security@jivapay.test>"))
    spec = EmailMessageSpec(
        ["anna@example.com", "ops@example.com"], "New sign-in to JivaPay", "new_device_login", CONTEXT
    )
    await sender.send(spec)

    [message] = smtp.wait_for(1)
    assert message["Subject"] == "New sign-in to JivaPay"
    assert message["To"] == "anna@example.com, ops@example.com"
    assert message["From"] == "JivaPay Security <security@jivapay.test>"
    assert message["Message-ID"].endswith("@jivapay.test>")
    assert message["Date"]
    assert smtp.envelopes == [("security@jivapay.test", ["anna@example.com", "ops@example.com"])]

    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text_part is not None
    assert html_part is not None
    text, html = text_part.get_content(), html_part.get_content()

    for body in (text, html):
        assert "A new device signed in to your JivaPay account" in body
        assert "If this was not you, change your password and contact support." in body
        assert "anna" in body
        assert "merchant" in body
        assert "2026-11-22 10:00 UTC" in body
        assert "203.0.113.7" in body
        assert "Amsterdam, Netherlands" in body
    assert "<script>alert(1)</script>" in text  # plain text is not HTML
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "JivaPay" in html


async def test_empty_location_is_left_out(smtp: SMTPReceiver) -> None:
    sender = EmailSender(_smtp_settings(smtp))
    html, text = sender.render("new_device_login", {**CONTEXT, "location": ""})
    assert "Location" not in html
    assert "Location" not in text


async def test_alert_email_lists_lines_and_link(smtp: SMTPReceiver) -> None:
    sender = EmailSender(_smtp_settings(smtp))
    context = {
        "title": "Outbox backlog",
        "lines": ["42 rows pending", "oldest: 5 min"],
        "link": "https://ops.example/x?a=1&b=2",
    }
    await sender.send(EmailMessageSpec(["ops@example.com"], "[JivaPay] Outbox backlog", "alert", context))
    [message] = await smtp.wait_for_async(1)
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None
    assert html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert "- 42 rows pending" in text
    assert "https://ops.example/x?a=1&b=2" in text
    assert "<li>oldest: 5 min</li>" in html
    assert 'href="https://ops.example/x?a=1&amp;b=2"' in html


async def test_a_missing_template_key_is_an_error_not_a_blank() -> None:
    sender = EmailSender(_settings())
    with pytest.raises(Exception, match="role"):
        sender.render("new_device_login", {k: v for k, v in CONTEXT.items() if k != "role"})


async def test_unreachable_smtp_is_a_notification_error() -> None:
    sender = EmailSender(
        _settings(
            smtp_host="127.0.0.1",
            smtp_port=1,
            smtp_starttls="false",
            smtp_timeout_seconds=2,
            smtp_username="mailer",
            smtp_password="hunter2-very-secret",
        )
    )
    with pytest.raises(NotificationError) as info:
        await sender.send(EmailMessageSpec(["a@example.com"], "x", "alert", {"title": "t", "lines": [], "link": ""}))
    assert info.value.code == "notification_failed"
    assert set(info.value.details) == {"reason"}
    assert info.value.details["reason"]
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(info.value)


async def test_without_smtp_host_nothing_is_sent(smtp: SMTPReceiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="jivapay.email")
    await EmailSender(_settings()).send(
        EmailMessageSpec(["a@example.com", "b@example.com"], "Quiet", "new_device_login", CONTEXT)
    )
    assert smtp.wait_for(1, timeout=0.3) == []
    [record] = [r for r in caplog.records if r.name == "jivapay.email"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == "email not sent: SMTP_HOST is not set"
    assert record.__dict__["subject"] == "Quiet"
    assert record.__dict__["recipients"] == 2
    assert "203.0.113.7" not in caplog.text  # the body is never logged
