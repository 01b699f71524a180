"""The event loop every jivapay process runs on."""

from __future__ import annotations

import asyncio


def use_uvloop() -> None:
    """Event loops made from now on are uvloop's: less CPU per database round trip.

    The API gets uvloop from uvicorn; the worker, the scheduler and the benchmarks call this.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a platform without uvloop keeps asyncio's loop
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
