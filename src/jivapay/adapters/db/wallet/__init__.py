"""The wallet's tables and repositories: deposit addresses, deposits, chain cursors."""
