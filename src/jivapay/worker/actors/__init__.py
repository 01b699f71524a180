"""Every actor module, one per business context; ``jivapay worker`` and the outbox relay import this package."""

from jivapay.worker.actors import identity, ledger, merchants, orders, platform, staff, wallet

__all__ = ["identity", "ledger", "merchants", "orders", "platform", "staff", "wallet"]
