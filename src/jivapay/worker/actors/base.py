"""How JivaPay declares actors: ids in, idempotent, retries only for transient failures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import dramatiq

from jivapay.domain.errors import RETRYABLE_ERRORS, JivaPayError
from jivapay.worker.broker import DEFAULT_QUEUE, broker

P = ParamSpec("P")
R = TypeVar("R")

#: business errors: retrying cannot help, so they fail the message at once
BUSINESS_ERRORS: tuple[type[Exception], ...] = tuple(
    cls for cls in JivaPayError.__subclasses__() if not issubclass(cls, RETRYABLE_ERRORS)
)


def _retry_transient(max_retries: int, retryable: tuple[type[Exception], ...]) -> Callable[[int, Exception], bool]:
    def retry_when(retries: int, exc: Exception) -> bool:
        return isinstance(exc, retryable) and retries < max_retries

    return retry_when


def jivapay_actor(
    name: str,
    *,
    queue: str = DEFAULT_QUEUE,
    max_retries: int = 5,
    min_backoff_ms: int = 1_000,
    max_backoff_ms: int = 300_000,
    time_limit_ms: int = 60_000,
    also_retry: tuple[type[JivaPayError], ...] = (),
) -> Callable[[Callable[P, Awaitable[R]]], dramatiq.Actor[P, Any]]:
    def decorate(fn: Callable[P, Awaitable[R]]) -> dramatiq.Actor[P, Any]:
        decorator = dramatiq.actor(
            actor_name=name,
            queue_name=queue,
            broker=broker,
            max_retries=max_retries,
            min_backoff=min_backoff_ms,
            max_backoff=max_backoff_ms,
            time_limit=time_limit_ms,
            throws=tuple(e for e in BUSINESS_ERRORS if not issubclass(e, also_retry)),
            retry_when=_retry_transient(max_retries, (*RETRYABLE_ERRORS, *also_retry)),
        )
        return decorator(fn)

    return decorate
