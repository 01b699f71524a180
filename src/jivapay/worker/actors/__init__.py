"""Every actor module; ``jivapay worker`` and the outbox relay import this package."""

from jivapay.worker.actors import identity, ledger, orders, system

__all__ = ["identity", "ledger", "orders", "system"]
