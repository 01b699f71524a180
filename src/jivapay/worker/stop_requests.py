"""How a worker process answers SIGTERM, from its first instant to its exit.

dramatiq installs its own handler before it imports ``jivapay.worker.boot``; this module
replaces it at the very top of that import, with the standard library only, so no stop
request falls into the slow part of the boot (importing every actor takes seconds, many on a
busy machine):

* while the process boots, a stop request ends it at once (``SystemExit``: dramatiq's
  ``finally`` still tells the main process the boot is over). Nothing has been consumed yet,
  so nothing is lost; finishing the boot first only to stop made a stop take as long as a
  boot, and the main process relays the same request again once every worker has booted;
* once booted, the first request is dramatiq's graceful stop (messages in hand get the
  shutdown timeout) and a duplicate arriving within ``REPEATED_SIGNAL_SECONDS`` is ignored:
  a SIGTERM sent to the whole process group (``kill -TERM -<pgid>``, systemd's default)
  reaches a worker twice, directly and relayed by dramatiq's main process, and dramatiq takes
  the second as "kill", which abandons the graceful stop yet never exits (its event-loop thread
  keeps the process alive). A later request is a real kill.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from types import FrameType
from typing import Any

#: a second SIGTERM this soon after the first is the same stop request delivered twice
REPEATED_SIGNAL_SECONDS = 2.0


class StopRequests:
    def __init__(self) -> None:
        self.booting = True
        self.first: float | None = None
        self.graceful: Any = None

    def install(self) -> None:
        """Take over SIGTERM where dramatiq has just installed its handler (kept as the graceful stop).

        A request that reached dramatiq's handler before this (the worker process is forked with
        signals blocked and unblocks them just before importing us) ends the boot here."""
        graceful = signal.getsignal(signal.SIGTERM)
        if not callable(graceful):
            return
        self.graceful = graceful
        signal.signal(signal.SIGTERM, self._handle)
        if _already_stopping(graceful):
            raise SystemExit(0)

    def booted(self) -> None:
        self.booting = False

    def _handle(self, signum: int, frame: FrameType | None) -> Any:
        if self.booting:
            raise SystemExit(0)
        now = time.monotonic()
        if self.first is None:
            self.first = now
            return self.graceful(signum, frame)
        if now - self.first < REPEATED_SIGNAL_SECONDS:
            return None
        logging.getLogger("jivapay.worker").warning("second stop request: killing the worker process")
        os._exit(1)


def _already_stopping(handler: Any) -> bool:
    """Whether dramatiq's worker-process handler has been told to stop (its ``running`` is False)."""
    code = getattr(handler, "__code__", None)
    names = code.co_freevars if code is not None else ()
    if "running" not in names or handler.__closure__ is None:
        return False
    try:
        return handler.__closure__[names.index("running")].cell_contents is False
    except ValueError:  # the cell is still empty
        return False


stop_requests = StopRequests()
