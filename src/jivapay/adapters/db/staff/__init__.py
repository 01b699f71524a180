"""Repositories of the staff context: support's search, the teamlead cabinet, statistics."""
