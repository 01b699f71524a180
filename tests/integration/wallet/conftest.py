"""The wallet's tests: anvil chains (BSC- and Arbitrum-like), the TRON simulator (``tron_sim``) and the
networks configured for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.chains import EvmChain, Networks, networks_fixture, start_chain
from tests.fixtures.tron import tron_sim  # noqa: F401 - the fixture


@pytest.fixture(scope="session")
def bsc() -> Iterator[EvmChain]:
    chain = start_chain("BEP20", 56, 18)
    yield chain
    chain.anvil.close()


@pytest.fixture(scope="session")
def arbitrum() -> Iterator[EvmChain]:
    chain = start_chain("ARBITRUM", 42161, 6)
    yield chain
    chain.anvil.close()


@pytest.fixture
def networks(tmp_path: Path) -> Iterator[Networks]:
    yield from networks_fixture(tmp_path)
