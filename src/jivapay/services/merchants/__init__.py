"""Stores and their credentials, the gateway orders come in through, idempotency and callbacks."""
