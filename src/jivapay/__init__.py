"""JivaPay: P2P payment processing with USDT settlement."""

__version__ = "0.1.0"
