"""Every actor module; ``jivapay worker`` and the outbox relay import this package."""

from jivapay.worker.actors import identity, ledger, notifications, orders, system

__all__ = ["identity", "ledger", "notifications", "orders", "system"]
