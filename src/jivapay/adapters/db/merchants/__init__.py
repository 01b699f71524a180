"""Repositories of the merchants context: stores, API keys, signing secrets."""
