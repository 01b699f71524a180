"""Configuration, the audit log, the outbox, health, notifications, reference data, seed and keys."""
