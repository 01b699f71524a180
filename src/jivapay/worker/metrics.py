"""Prometheus metrics of the worker: messages processed, failed, retried, dead-lettered, their
latency, and the broker's queue and dead-letter depths.

Every worker process counts into prometheus_client's multiprocess files
(``PROMETHEUS_MULTIPROC_DIR``, prepared by ``jivapay worker``); one extra process that dramatiq
forks (``serve``) adds them up and serves ``/metrics`` on WORKER_METRICS_HOST:WORKER_METRICS_PORT.
Without a multiprocess directory (tests, an in-process worker) the counters live in a private
registry, so they never mix into the API's own ``/metrics``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("jivapay.worker.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LABELS = ("queue_name", "actor_name")


class _Meters:
    """The worker's metrics, made in the worker process on first use: prometheus_client picks
    its value store (memory or the multiprocess directory) when a metric is made, and the
    directory is set only by ``jivapay worker`` just before it starts the processes."""

    def __init__(self) -> None:
        if os.environ.get(MULTIPROC_ENV):
            values.ValueClass = values.get_value_class()
        self.registry = CollectorRegistry(auto_describe=True)
        self.messages = Counter(
            "jivapay_worker_messages", "Messages the worker started processing", LABELS, registry=self.registry
        )
        self.errors = Counter(
            "jivapay_worker_message_errors",
            "Messages whose actor raised (retried or not)",
            LABELS,
            registry=self.registry,
        )
        self.retries = Counter(
            "jivapay_worker_messages_retried",
            "Deliveries that retry a failed message (after its backoff)",
            LABELS,
            registry=self.registry,
        )
        self.dead = Counter(
            "jivapay_worker_messages_dead_lettered",
            "Messages that failed for good (business error or retries exhausted)",
            LABELS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "jivapay_worker_messages_in_progress",
            "Messages being processed now",
            LABELS,
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.duration = Histogram(
            "jivapay_worker_message_duration_seconds",
            "Time an actor took, successful or not",
            LABELS,
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )


class WorkerMetrics(Middleware):
    """Counts every message the worker processes (added to the broker in broker.py)."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()
        self._meters: _Meters | None = None

    @property
    def meters(self) -> _Meters:
        with self._lock:
            if self._meters is None:
                self._meters = _Meters()
            return self._meters

    @staticmethod
    def _labels(message: dramatiq.MessageProxy) -> tuple[str, str]:
        return message.queue_name, message.actor_name

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        labels = self._labels(message)
        self.meters.messages.labels(*labels).inc()
        if message.options.get("retries", 0):  # a redelivery the Retries middleware scheduled
            self.meters.retries.labels(*labels).inc()
        self.meters.in_progress.labels(*labels).inc()
        with self._lock:
            self._started[message.message_id] = time.perf_counter()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        labels = self._labels(message)
        with self._lock:
            started = self._started.pop(message.message_id, None)
        if started is not None:
            self.meters.duration.labels(*labels).observe(time.perf_counter() - started)
        self.meters.in_progress.labels(*labels).dec()
        if exception is not None:
            self.meters.errors.labels(*labels).inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        with self._lock:
            started = self._started.pop(message.message_id, None)
        if started is not None:
            self.meters.in_progress.labels(*self._labels(message)).dec()

    def after_nack(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self.meters.dead.labels(*self._labels(message)).inc()


class BrokerDepths(Collector):
    """Queue and dead-letter depths, read from the broker at scrape time."""

    def __init__(self, broker_url: str, namespace: str = "jivapay") -> None:
        self.broker_url = broker_url
        self.namespace = namespace

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting = GaugeMetricFamily(
            "jivapay_worker_queue_messages", "Messages waiting in a queue", labels=["queue_name"]
        )
        dead = GaugeMetricFamily(
            "jivapay_worker_dead_letters", "Messages in a queue's dead-letter store", labels=["queue_name"]
        )
        try:
            for queue, ready, dead_count in self._depths():
                waiting.add_metric([queue], ready)
                dead.add_metric([queue], dead_count)
        except Exception:
            log.warning("broker depths unavailable", exc_info=True)
        yield waiting
        yield dead

    def _depths(self) -> list[tuple[str, int, int]]:
        from jivapay.worker import actors  # noqa: F401 - declares the queues
        from jivapay.worker.broker import broker

        queues = sorted(q for q in broker.get_declared_queues() if not q.endswith((".DQ", ".XQ")))
        if self.broker_url.startswith(("amqp://", "amqps://")):
            counts = []
            for queue in queues:
                ready, _delayed, dead_count = broker.get_queue_message_counts(queue)  # type: ignore[attr-defined]
                counts.append((queue, int(ready), int(dead_count)))
            return counts
        import redis

        client = redis.Redis.from_url(self.broker_url)
        try:
            prefix = f"{self.namespace}:"
            return [
                (queue, int(client.llen(f"{prefix}{queue}")), int(client.zcard(f"{prefix}{queue}.XQ")))
                for queue in queues
            ]
        finally:
            client.close()


def prepare_multiprocess_dir() -> Path:
    """The directory the worker processes count into: the operator's (emptied) or a new one."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        path = Path(tempfile.mkdtemp(prefix="jivapay-worker-metrics-"))
        os.environ[MULTIPROC_ENV] = str(path)
    return path


def remove_multiprocess_dir(path: Path) -> None:
    if path.name.startswith("jivapay-worker-metrics-"):
        shutil.rmtree(path, ignore_errors=True)


def build_registry(broker_url: str) -> CollectorRegistry:
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(BrokerDepths(broker_url))
    return registry


def serve() -> int:
    """The metrics process (dramatiq ``--fork-function``): serves /metrics until stopped."""
    from prometheus_client import start_http_server

    from jivapay.adapters.notifications import init_sentry, report_critical_error
    from jivapay.logs import configure_logging
    from jivapay.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    init_sentry(settings, component="worker-metrics")
    server = None
    try:
        server, _thread = start_http_server(
            settings.worker_metrics_port,
            addr=settings.worker_metrics_host,
            registry=build_registry(settings.effective_broker_url),
        )
    except OSError as exc:
        # the actors run on without metrics: a taken port must not stop the payments
        report_critical_error(
            exc,
            "worker metrics endpoint could not listen",
            host=settings.worker_metrics_host,
            port=settings.worker_metrics_port,
        )
    else:
        log.info("worker metrics on http://%s:%s/metrics", settings.worker_metrics_host, settings.worker_metrics_port)
    try:
        while True:
            time.sleep(3600)
    finally:
        if server is not None:
            server.shutdown()
