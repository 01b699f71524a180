"""report_critical_error reaches Sentry (a local HTTP receiver standing in for it) and never raises."""

from __future__ import annotations

import gzip
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import jivapay_env

SCRIPT = """
import sentry_sdk
from jivapay.adapters.notifications import init_sentry, report_attention, report_critical_error
from jivapay.settings import get_settings

assert init_sentry(get_settings(), component="test")
try:
    raise ValueError("settlement exploded")
except ValueError as exc:
    report_critical_error(exc, "settling order", order_id=42)
report_attention("order needs support: dispute", order_id=43)
sentry_sdk.flush(timeout=5)

# a broken transport must not break the caller
sentry_sdk.get_client().transport = None
def boom(*args, **kwargs):
    raise RuntimeError("sentry is down")
sentry_sdk.capture_exception = boom
report_critical_error(RuntimeError("again"), "second")
report_attention("again")
print("survived")
"""


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[bytes]]]:
    bodies: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            bodies.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], bodies
    server.shutdown()


def test_critical_errors_are_sent_with_context(receiver: tuple[int, list[bytes]], tmp_path: Path) -> None:
    port, bodies = receiver
    env = jivapay_env(SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/1")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "survived" in result.stdout
    sent = b"".join(bodies)
    assert b"settlement exploded" in sent
    assert b"settling order" in sent
    assert b"order needs support: dispute" in sent
    assert b'"order_id": 42' in sent or b'"order_id":42' in sent
