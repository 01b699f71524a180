"""Outgoing e-mail: Jinja2 templates (HTML + text) sent over SMTP with aiosmtplib."""

from __future__ import annotations

import dataclasses
import logging
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from jivapay.domain.errors import NotificationError
from jivapay.settings import Settings

log = logging.getLogger("jivapay.email")

_env = Environment(
    loader=PackageLoader("jivapay", "templates/email"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)


@dataclasses.dataclass(frozen=True, slots=True)
class EmailMessageSpec:
    to: list[str]
    subject: str
    template: str
    context: dict[str, Any]


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @staticmethod
    def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
        return _env.get_template(f"{template}.html").render(context), _env.get_template(f"{template}.txt").render(
            context
        )

    def build(self, spec: EmailMessageSpec) -> EmailMessage:
        html, text = self.render(spec.template, spec.context)
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = ", ".join(spec.to)
        message["Subject"] = spec.subject
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    async def send(self, spec: EmailMessageSpec) -> None:
        message = self.build(spec)
        s = self.settings
        if not s.smtp_host:
            log.info(
                "email not sent: SMTP_HOST is not set", extra={"subject": spec.subject, "recipients": len(spec.to)}
            )
            return
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                start_tls=s.smtp_starttls.lower() == "true",
                timeout=s.smtp_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise NotificationError("The e-mail could not be sent", reason=type(exc).__name__) from exc
        log.info("email sent", extra={"subject": spec.subject, "recipients": len(spec.to)})
