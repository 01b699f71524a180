"""Repositories of the orders context: orders, requisites, selection, disputes, recipients."""
