"""Everything chain-specific: key derivation and one client per network family (EVM, TRON)."""
