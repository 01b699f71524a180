"""Wallet endpoints: deposit addresses and deposit history, mounted by the role routers."""
