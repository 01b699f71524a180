"""The one in-process cache (adapters/memo.py): entries expire on the memo's clock, the memo
stays within its bound, invalidation wins over a load in flight, and a herd of callers for one
missing key loads it once."""

from __future__ import annotations

import asyncio

import pytest

from jivapay.adapters.memo import Memo, clear_all_caches


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_its_ttl_and_not_a_moment_longer() -> None:
    clock = Clock()
    memo: Memo[str, int] = Memo("test.ttl", maxsize=10, ttl=2.0, timer=clock)
    memo.set("a", 1)
    clock.now += 1.999
    assert memo.get("a") == 1
    clock.now += 0.001
    assert memo.get("a") is None
    assert len(memo) == 0


def test_a_ttl_given_to_set_overrides_the_memos_and_none_never_expires() -> None:
    clock = Clock()
    memo: Memo[str, int] = Memo("test.ttl_override", maxsize=10, ttl=2.0, timer=clock)
    memo.set("short", 1, ttl=0.5)
    memo.set("forever", 2, ttl=None)
    memo.set("default", 3)
    clock.now += 0.5
    assert memo.get("short") is None
    assert memo.get("default") == 3
    clock.now += 10**9
    assert memo.get("forever") == 2
    assert memo.get("default") is None


def test_a_ttl_already_spent_keeps_nothing_and_drops_the_old_value() -> None:
    memo: Memo[str, int] = Memo("test.spent", maxsize=10, ttl=2.0, timer=Clock())
    memo.set("a", 1)
    memo.set("a", 2, ttl=0.0)
    assert memo.get("a") is None
    memo.set("b", 1, ttl=-3.0)  # e.g. an API key that expired while it was being checked
    assert memo.get("b") is None


def test_the_memo_stays_within_its_bound_dropping_the_least_recently_used() -> None:
    memo: Memo[int, str] = Memo("test.bound", maxsize=3, ttl=None, timer=Clock())
    for n in range(3):
        memo.set(n, str(n))
    assert memo.get(0) == "0"  # 0 is now the most recently used; 1 the least
    memo.set(3, "3")
    assert len(memo) == 3
    assert memo.get(1) is None
    assert [memo.get(n) for n in (0, 2, 3)] == ["0", "2", "3"]


def test_a_full_memo_drops_what_expired_before_anything_live() -> None:
    clock = Clock()
    memo: Memo[str, int] = Memo("test.bound_expired", maxsize=2, ttl=5.0, timer=clock)
    memo.set("old", 1, ttl=1.0)
    memo.set("live", 2)
    clock.now += 1.0
    memo.set("new", 3)
    assert memo.get("live") == 2
    assert memo.get("new") == 3


def test_invalidate_and_clear() -> None:
    memo: Memo[str, int] = Memo("test.invalidate", maxsize=10, ttl=None, timer=Clock())
    memo.set("a", 1)
    memo.set("b", 2)
    memo.invalidate("a")
    memo.invalidate("missing")  # not an error
    assert memo.get("a") is None
    assert memo.get("b") == 2
    memo.clear()
    assert memo.get("b") is None


def test_clear_all_caches_empties_every_memo() -> None:
    first: Memo[str, int] = Memo("test.registry_1", maxsize=10, ttl=None)
    second: Memo[str, int] = Memo("test.registry_2", maxsize=10, ttl=60.0)
    first.set("a", 1)
    second.set("b", 2)
    clear_all_caches()
    assert first.get("a") is None
    assert second.get("b") is None


async def test_a_herd_of_callers_loads_a_missing_key_once() -> None:
    memo: Memo[str, str] = Memo("test.single_flight", maxsize=10, ttl=30.0, timer=Clock())
    release = asyncio.Event()
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await release.wait()
        return "value"

    herd = [asyncio.create_task(memo.get_or_load("k", load)) for _ in range(20)]
    await asyncio.sleep(0)  # every task reaches the memo; the first is inside load()
    assert loads == 1
    release.set()
    assert await asyncio.gather(*herd) == ["value"] * 20
    assert loads == 1
    assert await memo.get_or_load("k", load) == "value"
    assert loads == 1
    assert memo._loads == {}  # nothing left behind for the key


async def test_a_loaded_none_is_kept() -> None:
    memo: Memo[int, str | None] = Memo("test.none", maxsize=10, ttl=30.0, timer=Clock())
    loads = 0

    async def load() -> str | None:
        nonlocal loads
        loads += 1
        return None

    assert await memo.get_or_load(1, load) is None
    assert await memo.get_or_load(1, load) is None
    assert loads == 1


async def test_a_failed_load_keeps_nothing_and_the_next_waiter_loads() -> None:
    memo: Memo[str, int] = Memo("test.failed_load", maxsize=10, ttl=30.0, timer=Clock())
    release = asyncio.Event()
    attempts = 0

    async def load() -> int:
        nonlocal attempts
        attempts += 1
        await release.wait()
        if attempts == 1:
            raise RuntimeError("the database went away")
        return 7

    first = asyncio.create_task(memo.get_or_load("k", load))
    second = asyncio.create_task(memo.get_or_load("k", load))
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(RuntimeError):
        await first
    assert await second == 7
    assert attempts == 2
    assert memo.get("k") == 7


async def test_a_value_loaded_across_an_invalidation_is_returned_but_not_kept() -> None:
    memo: Memo[str, int] = Memo("test.stale_load", maxsize=10, ttl=30.0, timer=Clock())
    release = asyncio.Event()

    async def load() -> int:
        await release.wait()
        return 1

    loading = asyncio.create_task(memo.get_or_load("k", load))
    await asyncio.sleep(0)
    memo.invalidate("k")  # e.g. a commit changed what is being loaded
    release.set()
    assert await loading == 1
    assert memo.get("k") is None


async def test_a_live_entry_is_not_loaded_again_until_it_expires() -> None:
    clock = Clock()
    memo: Memo[str, int] = Memo("test.reload", maxsize=10, ttl=2.0, timer=clock)
    values = iter([1, 2])

    async def load() -> int:
        return next(values)

    assert await memo.get_or_load("k", load) == 1
    clock.now += 1.0
    assert await memo.get_or_load("k", load) == 1
    clock.now += 1.0
    assert await memo.get_or_load("k", load) == 2


async def test_loads_on_two_event_loops_never_wait_on_each_other() -> None:
    """The API, an in-process worker and a test each run their own loop: a load in progress on
    one loop must not leave a caller on another loop waiting on a lock it can never be woken by."""
    import threading

    memo: Memo[str, int] = Memo("two-loops", maxsize=4, ttl=60)
    started, release = threading.Event(), threading.Event()

    async def slow() -> int:
        started.set()
        await asyncio.to_thread(release.wait, 10)
        return 1

    async def fast() -> int:
        return 2

    other: list[int] = []
    thread = threading.Thread(target=lambda: other.append(asyncio.run(memo.get_or_load("k", slow))))
    thread.start()
    assert await asyncio.to_thread(started.wait, 10)
    # the other loop holds its load; this loop's caller runs its own instead of waiting on that lock
    assert await asyncio.wait_for(memo.get_or_load("k", fast), timeout=5) == 2
    release.set()
    await asyncio.to_thread(thread.join, 10)
    assert other == [1]
    assert memo._loads == {}
