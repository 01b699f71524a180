"""The one interface the wallet sees of a chain, whatever its family; and the fallback over RPC URLs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from jivapay.domain.errors import ChainUnavailable
from jivapay.domain.wallet.networks import Network

log = logging.getLogger("jivapay.chains")
T = TypeVar("T")
TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"  # Transfer(address,address,uint256)


@dataclasses.dataclass(frozen=True, slots=True)
class TokenTransfer:
    """One Transfer event of the network's token contract (EVM addresses in lower case, TRON's in base58)."""

    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    from_address: str
    to_address: str
    raw_amount: int  # the token's own units


@dataclasses.dataclass(frozen=True, slots=True)
class Location:
    """Where a transfer stands on the chain now."""

    block_number: int
    block_hash: str
    to_address: str | None = None  # what the transfer is now (the monitor checks it is still the deposit)
    raw_amount: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Receipt:
    """A mined transaction: where, and whether it did what it was sent for."""

    block_number: int
    block_hash: str
    succeeded: bool
    detail: str = ""  # why not (TRON's receipt result, or "reverted")
    fee: int = 0  # the native coin the sender paid for it (EVM gasUsed × effectiveGasPrice; TRON's burned sun)


@dataclasses.dataclass(frozen=True, slots=True)
class SendOutcome:
    """What a node said to a signed transaction: accepted now, already known, or refused (and why)."""

    accepted: bool
    known: bool = False  # the node has it already (a re-send): as good as accepted
    error: str = ""
    retryable: bool = True  # False: this signed transaction can never be accepted (expired, bad nonce …)


@dataclasses.dataclass(frozen=True, slots=True)
class SignedTransfer:
    tx_hash: str
    signed: str  # what send() takes: raw hex (EVM) or the signed JSON (TRON)
    nonce: int | None = None
    gas_price: int | None = None
    expires_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OutgoingTransfer:
    """What to sign: ``amount`` (token units, or wei/sun for a native transfer) from ``sender`` —
    the key at (``account``, ``index``) of the seed — to ``to``. ``prepared`` is what ``prepare()``
    read from the chain; EVM needs ``nonce`` and ``gas_price`` too."""

    account: int
    index: int
    sender: str
    to: str
    amount: int
    prepared: dict[str, Any]
    nonce: int | None = None
    gas_price: int | None = None


class Signer(Protocol):
    def sign_evm(self, transaction: dict[str, Any], index: int, account: int) -> tuple[str, str]: ...

    def sign_tron(self, txid: str, index: int, account: int) -> str: ...


class ChainClient(Protocol):
    network: Network

    @property
    def rpc_errors(self) -> int:
        """Failed calls to any URL since the client was made (fallbacks included)."""
        ...

    async def head(self) -> int:
        """The latest block number."""
        ...

    async def safe_head(self) -> int:
        """The latest block the chain calls final (TRON: solidified); EVM: the head (confirmations decide)."""
        ...

    async def block_hash(self, number: int) -> str | None:
        """The hash of block ``number`` on the chain now, or None when it does not exist (yet)."""
        ...

    async def token_transfers(self, from_block: int, to_block: int) -> list[TokenTransfer]:
        """Every Transfer of the token contract in the blocks, in chain order (the caller bounds the range)."""
        ...

    async def locate(self, tx_hash: str, log_index: int) -> Location | None:
        """Where the transfer is now, or None if the chain no longer has it (reorged out)."""
        ...

    def display(self, address: str) -> str:
        """The form addresses are shown and stored in (EVM: EIP-55 checksummed; TRON: base58)."""
        ...

    # --- sending (withdrawals, sweeps) -------------------------------------------------------

    async def token_balance(self, address: str) -> int:
        """The address's token balance, in the token's units."""
        ...

    async def native_balance(self, address: str) -> int:
        """The address's native coin (wei or sun)."""
        ...

    async def prepare(self, sender: str) -> dict[str, Any]:
        """What signing needs from the chain, read before any lock: EVM gas price and the sender's
        pending nonce, TRON the reference block."""
        ...

    def sign_transfer(self, signer: Signer, transfer: OutgoingTransfer) -> SignedTransfer:
        """A token transfer signed locally (no chain call)."""
        ...

    def sign_native(self, signer: Signer, transfer: OutgoingTransfer) -> SignedTransfer:
        """A native-coin transfer (wei or sun) signed locally: gas fueling."""
        ...

    async def send(self, signed: str) -> SendOutcome: ...

    async def head_time(self) -> dt.datetime | None:
        """The head block's timestamp (the chain's own clock), when the family needs it (TRON)."""
        ...

    async def nonce_used(self, sender: str, nonce: int) -> bool:
        """EVM: whether a mined transaction of ``sender`` already has ``nonce`` (TRON: always False)."""
        ...

    async def receipt(self, tx_hash: str) -> Receipt | None:
        """The transaction's receipt once mined, None before (or if it never will be)."""
        ...

    async def close(self) -> None: ...


class Fallback:
    """Calls an operation on the network's RPC URLs in order: the first answer wins; errors are
    counted and the next URL is tried; when every URL fails, ChainUnavailable (retryable)."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.rpc_errors = 0
        self._preferred = 0  # the URL that answered last: tried first next time

    async def call(self, what: str, operation: Callable[[int], Awaitable[T]]) -> T:
        urls = len(self.network.rpc_urls)
        if not urls:
            raise ChainUnavailable(f"{self.network.name} has no RPC URL configured", network=self.network.name)
        last: Exception | None = None
        for step in range(urls):
            index = (self._preferred + step) % urls
            try:
                result = await operation(index)
            except ChainUnavailable as exc:  # raised by the adapters for answers that are not answers
                last = exc
            except Exception as exc:  # noqa: BLE001 - any failure of one endpoint moves to the next
                last = exc
            else:
                self._preferred = index
                return result
            self.rpc_errors += 1
            log.warning(
                "chain RPC failed",
                extra={"network": self.network.name, "call": what, "url_index": index, "error": _describe(last)},
            )
        raise ChainUnavailable(
            f"{self.network.name}: every RPC URL failed for {what}",
            network=self.network.name,
            error=_describe(last),
        )


def _describe(exc: Exception | None) -> str:
    """An error in one line, without the URL (it may carry an API key)."""
    if exc is None:
        return ""
    text = str(exc).split("\n", 1)[0]
    for marker in ("http://", "https://"):
        if marker in text:
            text = text.split(marker, 1)[0] + "<url>"
    return f"{type(exc).__name__}: {text}"[:300]
