"""Chaos proof: the whole platform as real processes under load while its servers and processes fail."""
