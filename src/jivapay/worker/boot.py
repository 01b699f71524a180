"""What ``dramatiq`` loads in each worker process: logging, Sentry, then every actor."""

# first, with the standard library only: a stop request during the slow boot below ends it at once
from jivapay.worker.stop_requests import stop_requests

stop_requests.install()

from jivapay.adapters.notifications import init_sentry  # noqa: E402
from jivapay.logs import configure_logging  # noqa: E402
from jivapay.settings import get_settings  # noqa: E402

_settings = get_settings()
configure_logging(_settings.log_level, _settings.log_format)
init_sentry(_settings, component="worker")

# imported after logging is set up, so what actor modules log at import is formatted
from jivapay.eventloop import use_uvloop  # noqa: E402
from jivapay.worker import actors  # noqa: E402
from jivapay.worker.broker import broker  # noqa: E402

use_uvloop()  # before the AsyncIO middleware makes the actors' loop

stop_requests.booted()  # the slow part is over: from now on a stop is dramatiq's graceful one

__all__ = ["actors", "broker"]
