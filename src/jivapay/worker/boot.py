"""What ``dramatiq`` loads in each worker process: logging, Sentry, then every actor."""

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

__all__ = ["actors", "broker"]
