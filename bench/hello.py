"""The baseline app of bench/gateway.py: bare Litestar answering ``GET /health`` with a small JSON
body, run by the same uvicorn as ``jivapay api`` (one process, same venv)."""

from __future__ import annotations

from litestar import Litestar, get


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([health], openapi_config=None)
