"""Outgoing e-mail: Jinja2 templates (HTML + plain text) sent over SMTP with aiosmtplib.

Templates live in ``jivapay/templates/email``: ``<name>.html`` (autoescaped, extends
``base.html``) and ``<name>.txt``. Bodies and credentials are never logged.
"""

from __future__ import annotations

import dataclasses
import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
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
    keep_trailing_newline=True,
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

    def render(self, template: str, context: dict[str, Any]) -> tuple[str, str]:
        """``(html, text)`` of ``<template>.html`` and ``<template>.txt``; a missing key raises."""
        html = _env.get_template(f"{template}.html").render(context)
        text = _env.get_template(f"{template}.txt").render(context)
        return html, text

    def build(self, spec: EmailMessageSpec) -> EmailMessage:
        html, text = self.render(spec.template, spec.context)
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = ", ".join(spec.to)
        message["Subject"] = spec.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=_sender_domain(self.settings.smtp_from))
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    async def send(self, spec: EmailMessageSpec) -> None:
        """Send ``spec``; without SMTP_HOST only log that it was not sent.

        Raises ``NotificationError`` (details: ``reason``) when the server cannot be reached
        or refuses the message.
        """
        message = self.build(spec)  # render even when not sending: template errors show up in dev
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
        except (aiosmtplib.SMTPException, OSError) as exc:  # OSError covers TimeoutError and refusals
            log.warning(
                "email not sent: SMTP failed",
                extra={"subject": spec.subject, "recipients": len(spec.to), "reason": type(exc).__name__},
            )
            raise NotificationError("The e-mail could not be sent", reason=type(exc).__name__) from exc
        log.info("email sent", extra={"subject": spec.subject, "recipients": len(spec.to)})


def _sender_domain(from_header: str) -> str:
    _, address = parseaddr(from_header)
    domain = address.rpartition("@")[2]
    return domain or "jivapay.local"
