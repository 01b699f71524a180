"""Requisites, fraud rules, assignment, status changes, views, receipts, disputes and pay-outs."""
