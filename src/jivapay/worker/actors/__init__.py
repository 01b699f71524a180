"""Every actor module; ``jivapay worker`` and the outbox relay import this package."""

from jivapay.worker.actors import system

__all__ = ["system"]
