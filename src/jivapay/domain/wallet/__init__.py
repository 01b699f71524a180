"""The wallet: networks, chain amounts, deposit states (pure rules, no I/O)."""
