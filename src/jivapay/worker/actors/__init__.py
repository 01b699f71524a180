"""Every actor module; ``jivapay worker`` and the outbox relay import this package."""

from jivapay.worker.actors import callbacks, identity, ledger, notifications, orders, rates, stats, system

__all__ = ["callbacks", "identity", "ledger", "notifications", "orders", "rates", "stats", "system"]
