"""The chaos hook JIVAPAY_CHAOS_DUPLICATE_DELIVERY: every message runs twice, a retry is not copied."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries

from jivapay.worker.chaos import DUPLICATE_DELIVERY_ENV, DuplicateDelivery, duplicate_delivery_enabled


@pytest.fixture
def stub() -> Iterator[StubBroker]:
    broker = StubBroker(middleware=[Retries(min_backoff=1, max_backoff=1)])
    broker.add_middleware(DuplicateDelivery())
    yield broker
    broker.flush_all()
    broker.close()


def _run(broker: StubBroker) -> None:
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    try:
        for _ in range(3):  # copies and retries go through the queue and the delay queue
            broker.join("default", timeout=10_000, fail_fast=False)
            broker.join("default.DQ", timeout=10_000, fail_fast=False)
            worker.join()
    finally:
        worker.stop()


def test_every_message_is_delivered_twice_with_the_same_id_and_arguments(stub: StubBroker) -> None:
    calls: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()

    @dramatiq.actor(broker=stub, actor_name="chaos.count")
    def count(n: int) -> None:
        from dramatiq.middleware import CurrentMessage

        message = CurrentMessage.get_current_message()
        with lock:
            calls[(message.message_id if message else "", n)] += 1

    stub.add_middleware(dramatiq.middleware.CurrentMessage())
    sent = [count.send(n) for n in range(3)]
    _run(stub)
    assert calls == Counter({(m.message_id, n): 2 for n, m in enumerate(sent)})


def test_a_retry_is_not_copied(stub: StubBroker) -> None:
    runs: list[int] = []

    @dramatiq.actor(broker=stub, actor_name="chaos.flaky", max_retries=1)
    def flaky() -> None:
        runs.append(1)
        raise RuntimeError("first attempts fail")

    flaky.send()
    _run(stub)
    # the message and its copy, each failing once and retried once: the retries are not copied again
    assert len(runs) == 4


def test_off_unless_the_environment_says_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DUPLICATE_DELIVERY_ENV, raising=False)
    assert not duplicate_delivery_enabled()
    monkeypatch.setenv(DUPLICATE_DELIVERY_ENV, "1")
    assert duplicate_delivery_enabled()
