"""Repositories: the only place in the code base that holds SQL."""
