"""The dramatiq broker, configured from BROKER_URL (or REDIS_URL) when this module loads.

Actor modules import it before declaring actors so they bind to this broker.
"""

from __future__ import annotations

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, CurrentMessage, Middleware

from jivapay.domain.errors import ConfigurationError
from jivapay.settings import Settings, get_settings
from jivapay.worker.chaos import DuplicateDelivery, duplicate_delivery_enabled
from jivapay.worker.metrics import WorkerMetrics

DEFAULT_QUEUE = "default"


class WorkerResources(Middleware):
    """Closes the worker loop's engine and Redis pool before that loop stops."""

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from jivapay.adapters.resources import close_resources

        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(close_resources())


def build_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.effective_broker_url
    broker: dramatiq.Broker
    if url.startswith(("amqp://", "amqps://")):
        try:
            from dramatiq.brokers.rabbitmq import RabbitmqBroker
        except ImportError:  # pragma: no cover - depends on the optional extra
            raise ConfigurationError(
                "BROKER_URL is RabbitMQ but pika is not installed: uv sync --extra rabbitmq", key="BROKER_URL"
            ) from None
        broker = RabbitmqBroker(url=url)
    else:
        broker = RedisBroker(url=url, namespace="jivapay")
    broker.add_middleware(AsyncIO())
    broker.add_middleware(WorkerResources())
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(WorkerMetrics())
    if duplicate_delivery_enabled():  # tests/chaos only: every message delivered twice
        broker.add_middleware(DuplicateDelivery())
    return broker


broker = build_broker(get_settings())
dramatiq.set_broker(broker)
