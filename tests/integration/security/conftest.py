"""Security tests use the order tests' world (a store, traders with collateral, requisites)."""

from tests.integration.orders.conftest import World, world

__all__ = ["World", "world"]
