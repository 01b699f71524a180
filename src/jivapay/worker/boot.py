"""What ``dramatiq`` loads in each worker process: logging, Sentry, then every actor."""

import logging
import os
import signal
import time
from types import FrameType
from typing import Any

from jivapay.adapters.notifications import init_sentry
from jivapay.logs import configure_logging
from jivapay.settings import get_settings

_settings = get_settings()
configure_logging(_settings.log_level, _settings.log_format)
init_sentry(_settings, component="worker")

# imported after logging is set up, so what actor modules log at import is formatted
from jivapay.eventloop import use_uvloop  # noqa: E402
from jivapay.worker import actors  # noqa: E402
from jivapay.worker.broker import broker  # noqa: E402

use_uvloop()  # before the AsyncIO middleware makes the actors' loop

#: a second SIGTERM this soon after the first is the same stop request delivered twice
REPEATED_SIGNAL_SECONDS = 2.0


def stop_once_on_sigterm() -> None:
    """One graceful stop per request, and a real kill on a later second request.

    A SIGTERM often reaches a worker process twice at once: sent to the whole process group
    (``kill -TERM -<pgid>``, systemd's default) and relayed by dramatiq's main process. dramatiq
    takes the second as "kill", which abandons the graceful stop yet never exits (its event-loop
    thread keeps the process alive). Called where dramatiq has just installed its handler.
    """
    graceful = signal.getsignal(signal.SIGTERM)
    if not callable(graceful):
        return
    first: float | None = None

    def handler(signum: int, frame: FrameType | None) -> Any:
        nonlocal first
        now = time.monotonic()
        if first is None:
            first = now
            return graceful(signum, frame)
        if now - first < REPEATED_SIGNAL_SECONDS:
            return None
        logging.getLogger("jivapay.worker").warning("second stop request: killing the worker process")
        os._exit(1)

    signal.signal(signal.SIGTERM, handler)


stop_once_on_sigterm()

__all__ = ["actors", "broker"]
