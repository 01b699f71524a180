"""Error reporting to Sentry. Reporting never breaks the code that reports."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import sentry_sdk

from jivapay.settings import Settings

log = logging.getLogger("jivapay.notifications")


def init_sentry(settings: Settings, *, component: str) -> bool:
    """Initialise sentry-sdk when SENTRY_DSN is set; returns whether it was."""
    if not settings.sentry_dsn:
        return False
    from sentry_sdk.integrations.dramatiq import DramatiqIntegration
    from sentry_sdk.integrations.litestar import LitestarIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        traces_sample_rate=float(settings.sentry_traces_sample_rate),
        send_default_pii=False,
        # never ship stack frames' local variables: a signing frame holds key material (a tronpy
        # or eth private key prints as hex), the wallet's setup holds the mnemonic
        include_local_variables=False,
        integrations=[LitestarIntegration(), DramatiqIntegration()],
    )
    sentry_sdk.set_tag("component", component)
    return True


def report_critical_error(exc: BaseException, context: str = "", **extra: Any) -> None:
    """Log ``exc`` with context and send it to Sentry; swallow any failure of doing so."""
    try:
        log.error("critical error: %s", context or type(exc).__name__, exc_info=exc, extra={"context": extra})
        with sentry_sdk.new_scope() as scope:
            if context:
                scope.set_context("jivapay", {"message": context, **extra})
            for key, value in extra.items():
                scope.set_extra(key, value)
            sentry_sdk.capture_exception(exc)
    except Exception:
        with contextlib.suppress(Exception):
            log.warning("report_critical_error failed", exc_info=True)


def report_attention(message: str, **extra: Any) -> None:
    """Something a person must look at (a dispute, a fraud review): a Sentry warning event and a
    log line; swallows any failure of doing so."""
    try:
        log.warning("needs attention: %s", message, extra={"context": extra})
        with sentry_sdk.new_scope() as scope:
            for key, value in extra.items():
                scope.set_extra(key, value)
            sentry_sdk.capture_message(message, level="warning")
    except Exception:
        with contextlib.suppress(Exception):
            log.warning("report_attention failed", exc_info=True)
