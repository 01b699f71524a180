"""The wallet: deposit addresses, the deposit monitor, deposit history."""
