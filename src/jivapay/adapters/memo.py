"""The one in-process cache: a bounded map whose entries expire, for what a process may keep in
memory for a while instead of asking PostgreSQL or Redis again.

``Memo`` wraps ``cachetools.TLRUCache`` behind four verbs (``get``, ``set``, ``invalidate``,
``clear``) and ``get_or_load``, which loads a missing key once however many tasks ask for it at
the same moment (the others wait for that load). A full memo drops what expires first, then the
least recently used entry. Every memo is registered so ``clear_all_caches()`` empties them all
(tests that empty the tables; nothing else needs it).

Every per-process cache of the platform, what it keeps, and for how long:

============================  =============================  =====================  =======================
memo (module)                 keeps                          lives (TTL)            dropped at once by
============================  =============================  =====================  =======================
``config.version``            the Redis config version       VERSION_CHECK_SECONDS  a change in this process
(services/platform/config)    last read                      = 1 s
``config.values``             every setting, by version      until the version      a change in this process
(services/platform/config)                                   changes (1 entry)
``reference.local_rates``     a currency's exchange rate     LOCAL_RATE_SECONDS     a rate set in this process
(services/platform/           as Redis had it                = 1 s
reference_data)
``gateway.reference``         currency, method, bank of an   REFERENCE_CACHE_       —
(services/merchants/gateway)  init                           SECONDS = 30 s
``orders.method_codes``       a payment method's code        CACHE_SECONDS = 30 s   —
(services/orders/views)
``http.api_keys``             a verified store API key       API_KEY_CACHE_SECONDS  a key revoked, rotated or
(http/guards)                                                = 2 s, never past the  a store paused in this
                                                             key's own expiry       process (``forget_api_keys``)
``ledger.account_ids``        an account's id                forever (ids never     —
(adapters/db/ledger/                                         change once
postings)                                                    committed)
``reference.minor_units``     a fiat currency's minor units  forever (never change  —
(adapters/db/platform/                                       once it exists)
reference)
============================  =============================  =====================  =======================

A change made in another process is seen when the entry expires; ``forever`` entries hold
facts that never change. The bounds (``maxsize``) are set where each memo is made.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Final, Generic, TypeVar

from cachetools import TLRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_registry: weakref.WeakSet[Memo[Any, Any]] = weakref.WeakSet()
_ABSENT: Final[Any] = object()
_DEFAULT_TTL: Final[Any] = object()


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    ttl: float | None  # None: never expires


def _time_to_use(_key: object, entry: _Entry[Any], now: float) -> float:
    return math.inf if entry.ttl is None else now + entry.ttl


@dataclasses.dataclass(slots=True)
class _Load:
    lock: asyncio.Lock
    waiting: int = 0


class Memo(Generic[K, V]):
    """A bounded in-process cache whose entries live ``ttl`` seconds (None: until evicted).

    ``timer`` is the clock (monotonic seconds); tests pass their own. Safe to touch from any
    thread; ``get_or_load`` is for the event loop.
    """

    def __init__(
        self, name: str, *, maxsize: int, ttl: float | None, timer: Callable[[], float] = time.monotonic
    ) -> None:
        if maxsize < 1:
            raise ValueError("a memo holds at least one entry")
        self.name = name
        self.ttl = ttl
        self._entries: TLRUCache[K, _Entry[V]] = TLRUCache(maxsize=maxsize, ttu=_time_to_use, timer=timer)
        self._lock = threading.Lock()  # TLRUCache is not thread-safe
        self._loads: dict[tuple[int, K], _Load] = {}
        self._generation = 0  # moves on every invalidate/clear: a load started before does not store
        _registry.add(self)

    def __repr__(self) -> str:
        return f"Memo({self.name!r}, maxsize={self.maxsize}, ttl={self.ttl})"

    @property
    def maxsize(self) -> int:
        return int(self._entries.maxsize)

    def __len__(self) -> int:
        with self._lock:
            self._entries.expire()
            return len(self._entries)

    def _lookup(self, key: K) -> Any:
        with self._lock:
            entry = self._entries.get(key)
        return _ABSENT if entry is None else entry.value

    def get(self, key: K) -> V | None:
        """The live value of ``key``; None when it is missing or expired."""
        found = self._lookup(key)
        return None if found is _ABSENT else found

    def set(self, key: K, value: V, *, ttl: float | None = _DEFAULT_TTL) -> None:
        """Keep ``value`` for ``ttl`` seconds (the memo's own by default); a ttl ≤ 0 keeps nothing."""
        entry = _Entry(value, self.ttl if ttl is _DEFAULT_TTL else ttl)
        with self._lock:
            self._entries[key] = entry

    def invalidate(self, key: K) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]], *, ttl: float | None = _DEFAULT_TTL) -> V:
        """The live value of ``key``, else what ``load()`` returns (kept; None is kept too).

        Concurrent callers for one key share a single load: the first runs it, the others wait
        and read its result. A load that fails keeps nothing and the next waiter tries its own.
        A value loaded while the key was invalidated is returned but not kept.
        """
        found = self._lookup(key)
        if found is not _ABSENT:
            return found  # type: ignore[no-any-return]
        # one load per key *and event loop*: an asyncio.Lock belongs to one loop, and a process may
        # run several (the API's, a worker's, a test's); a lock shared across them can leave a
        # waiter on one loop asleep forever when another loop's holder releases it
        slot = (id(asyncio.get_running_loop()), key)
        with self._lock:
            pending = self._loads.get(slot)
            if pending is None:
                pending = self._loads[slot] = _Load(asyncio.Lock())
            pending.waiting += 1
        try:
            async with pending.lock:
                found = self._lookup(key)
                if found is not _ABSENT:
                    return found  # type: ignore[no-any-return]
                generation = self._generation
                value = await load()
                if generation == self._generation:
                    self.set(key, value, ttl=ttl)
                return value
        finally:
            with self._lock:
                pending.waiting -= 1
                if pending.waiting == 0 and self._loads.get(slot) is pending:
                    del self._loads[slot]


def clear_all_caches() -> None:
    """Empty every memo of this process (tests that empty the tables)."""
    for memo in list(_registry):
        memo.clear()
