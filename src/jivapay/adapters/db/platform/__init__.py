"""Repositories of the platform context: audit log, configuration, outbox, reference data, secrets."""
