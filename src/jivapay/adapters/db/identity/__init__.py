"""Repositories of the identity context: users and profiles, tokens, devices, login history, privacy."""
