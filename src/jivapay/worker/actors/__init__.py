"""Every actor module; ``jivapay worker`` and the outbox relay import this package."""

from jivapay.worker.actors import identity, ledger, notifications, orders, rates, system

__all__ = ["identity", "ledger", "notifications", "orders", "rates", "system"]
