"""Networks USDT moves on, as configuration: one ``Network`` per entry of ``networks.toml``.

A network belongs to a family (``evm`` or ``tron``); the family picks the chain adapter,
everything else (URLs, token contract, decimals, confirmations, limits) is data, so a fourth
network is a TOML entry plus at most one adapter.

Amounts: the ledger keeps USDT in micro-USDT (6 decimals) whatever the chain uses. A chain
amount converts by rounding *down*; what is below one micro-USDT (only on tokens with more
than 6 decimals, e.g. BEP20 USDT's 18) is dust: never credited, recorded beside the deposit.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Literal

from jivapay.domain.errors import ConfigurationError, ValidationFailed
from jivapay.domain.ledger.posting import USDT_DECIMALS, parse_amount

Family = Literal["evm", "tron"]
FAMILIES: tuple[Family, ...] = ("evm", "tron")
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,19}$")
_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TRON_ADDRESS = re.compile(r"^T[1-9A-HJ-NP-Za-km-z]{33}$")


@dataclasses.dataclass(frozen=True, slots=True)
class Network:
    name: str  # the ledger's and the API's name: TRC20, BEP20, ARBITRUM
    family: Family
    title: str
    token_contract: str
    token_decimals: int
    confirmations: int  # blocks on top of the deposit's block, the block itself counted as 1
    poll_interval_seconds: int
    min_deposit: int  # micro-USDT; smaller deposits are recorded, never credited
    max_block_range: int  # blocks per log query / scan step
    rpc_urls: tuple[str, ...] = ()  # first is primary, the rest are fallbacks; none: the network is off
    chain_id: int | None = None  # EVM: checked against the node's eth_chainId
    start_block: int | None = None  # where the first scan starts; default: the head when first polled
    rpc_timeout_seconds: int = 10
    reorg_window_blocks: int = 0  # credited deposits this close to the head are re-checked; default 2x confirmations
    withdrawal_fee: int = 1_000_000  # micro-USDT the owner pays per withdrawal (to the platform's profit)
    min_withdrawal: int = 5_000_000  # micro-USDT
    max_gas_price_gwei: int = 50  # EVM: the fee cap a withdrawal's gas price is never raised above
    transfer_gas: int = 100_000  # EVM: the gas limit of a token transfer
    fee_limit_sun: int = 60_000_000  # TRON: the fee limit of a TRC20 transfer (burned energy, in sun)
    stuck_after_seconds: int = 180  # a sent withdrawal not mined after this long is sped up (EVM) or renewed
    sweep_threshold: int = 10_000_000  # micro-USDT: a deposit address holding at least this is swept
    sweep_fuel_sun: int = 30_000_000  # TRON: the TRX a deposit address is fueled with before its sweep

    @property
    def enabled(self) -> bool:
        return bool(self.rpc_urls)

    @property
    def recheck_window(self) -> int:
        return self.reorg_window_blocks or 2 * self.confirmations


def chain_to_ledger(raw: int, token_decimals: int) -> tuple[int, int]:
    """A token amount in chain units → (micro-USDT credited, dust in chain units), rounding down."""
    if raw < 0:
        raise ValueError("a chain amount is never negative")
    if token_decimals <= USDT_DECIMALS:
        return raw * 10 ** (USDT_DECIMALS - token_decimals), 0
    scale: int = 10 ** (token_decimals - USDT_DECIMALS)
    return divmod(raw, scale)


def ledger_to_chain(micro: int, token_decimals: int) -> int:
    """micro-USDT → the token's chain units (exact: the chain has at least as fine a unit, or the ledger's)."""
    if token_decimals >= USDT_DECIMALS:
        return int(micro * 10 ** (token_decimals - USDT_DECIMALS))
    scale: int = 10 ** (USDT_DECIMALS - token_decimals)
    if micro % scale:
        raise ValueError(f"{micro} micro-USDT is not a whole number of the token's units")
    return micro // scale


GWEI = 10**9


def gas_price_cap(network: Network) -> int:
    """EVM: the highest gas price (wei) the platform ever signs with on ``network``."""
    return network.max_gas_price_gwei * GWEI


def speed_up_price(previous: int, current: int, cap: int) -> int:
    """The gas price of a replacement (same nonce): 12.5 % above the stuck one (nodes ask for at
    least 10 %), or today's price if higher; never above ``cap``."""
    return min(max(previous * 9 // 8 + 1, current), cap)


def is_address(family: Family, address: str) -> bool:
    """Syntax only (the adapters check checksums)."""
    pattern = _EVM_ADDRESS if family == "evm" else _TRON_ADDRESS
    return bool(pattern.match(address))


def _positive(name: str, key: str, value: Any, *, zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if zero else 1):
        raise ConfigurationError(
            f"network {name}: {key} must be a {'non-negative' if zero else 'positive'} integer, got {value!r}",
            key=f"networks.{name}.{key}",
        )
    return value


def parse_network(name: str, entry: Mapping[str, Any], rpc_urls: tuple[str, ...] = ()) -> Network:
    """One ``[networks.NAME]`` table → a Network, or a ConfigurationError naming the bad key."""

    def bad(key: str, why: str) -> ConfigurationError:
        return ConfigurationError(f"network {name}: {key} {why}", key=f"networks.{name}.{key}")

    if not _NAME.match(name):
        raise bad("name", "must be 2-20 upper-case letters, digits or _ (like TRC20)")
    known = {field.name for field in dataclasses.fields(Network)} - {"name", "rpc_urls"}
    unknown = sorted(set(entry) - known - {"rpc_urls"})
    if unknown:
        raise bad(unknown[0], "is not a network setting")
    family = entry.get("family")
    if family not in FAMILIES:
        raise bad("family", f"must be one of {', '.join(FAMILIES)}, got {family!r}")
    contract = entry.get("token_contract")
    if not isinstance(contract, str) or not is_address(family, contract):
        raise bad("token_contract", f"must be a {family} address, got {contract!r}")
    decimals = _positive(name, "token_decimals", entry.get("token_decimals"), zero=True)
    if decimals > 36:
        raise bad("token_decimals", "must be at most 36")
    try:
        min_deposit = parse_amount(str(entry.get("min_deposit", "1")), USDT_DECIMALS, field="min_deposit")
    except ValidationFailed:
        raise bad("min_deposit", 'must be a USDT amount like "1.00" (at most 6 decimals)') from None
    urls = rpc_urls or tuple(entry.get("rpc_urls", ()))
    for url in urls:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise bad("rpc_urls", f"must be http(s) URLs, got {url!r}")
    chain_id = entry.get("chain_id")
    if family == "evm":
        _positive(name, "chain_id", chain_id)
    amounts = {}
    for key, default in (("withdrawal_fee", "1"), ("min_withdrawal", "5"), ("sweep_threshold", "10")):
        try:
            amounts[key] = parse_amount(str(entry.get(key, default)), USDT_DECIMALS, field=key)
        except ValidationFailed:
            raise bad(key, 'must be a USDT amount like "1.00" (at most 6 decimals)') from None
        if amounts[key] < 0:
            raise bad(key, "must not be negative")
    start_block = entry.get("start_block")
    if start_block is not None:
        _positive(name, "start_block", start_block, zero=True)
    return Network(
        name=name,
        family=family,
        title=str(entry.get("title", name)),
        token_contract=contract,
        token_decimals=decimals,
        confirmations=_positive(name, "confirmations", entry.get("confirmations")),
        poll_interval_seconds=_positive(name, "poll_interval_seconds", entry.get("poll_interval_seconds", 10)),
        min_deposit=min_deposit,
        max_block_range=_positive(name, "max_block_range", entry.get("max_block_range", 500)),
        rpc_urls=urls,
        chain_id=chain_id,
        start_block=start_block,
        rpc_timeout_seconds=_positive(name, "rpc_timeout_seconds", entry.get("rpc_timeout_seconds", 10)),
        reorg_window_blocks=_positive(name, "reorg_window_blocks", entry.get("reorg_window_blocks", 0), zero=True),
        withdrawal_fee=amounts["withdrawal_fee"],
        min_withdrawal=amounts["min_withdrawal"],
        max_gas_price_gwei=_positive(name, "max_gas_price_gwei", entry.get("max_gas_price_gwei", 50)),
        transfer_gas=_positive(name, "transfer_gas", entry.get("transfer_gas", 100_000)),
        fee_limit_sun=_positive(name, "fee_limit_sun", entry.get("fee_limit_sun", 60_000_000)),
        stuck_after_seconds=_positive(name, "stuck_after_seconds", entry.get("stuck_after_seconds", 180)),
        sweep_threshold=amounts["sweep_threshold"],
        sweep_fuel_sun=_positive(name, "sweep_fuel_sun", entry.get("sweep_fuel_sun", 30_000_000)),
    )
