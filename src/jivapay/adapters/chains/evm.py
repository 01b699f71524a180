"""EVM networks (BSC, Arbitrum, anvil) over JSON-RPC with web3.py's async client.

Deposits are found with ``eth_getLogs`` for the token's Transfer events over a block range: one
call per range whatever the number of our addresses (matching happens in the database). Every
call goes to the primary RPC URL first and falls back to the others (``Fallback``).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from web3 import AsyncHTTPProvider, AsyncWeb3, Web3
from web3.types import RPCEndpoint

from jivapay.adapters.chains.base import (
    TRANSFER_TOPIC,
    Fallback,
    Location,
    OutgoingTransfer,
    Receipt,
    SendOutcome,
    SignedTransfer,
    Signer,
    TokenTransfer,
)
from jivapay.domain.errors import ChainUnavailable
from jivapay.domain.wallet.networks import Network

to_checksum_address = Web3.to_checksum_address


NATIVE_TRANSFER_GAS = 21_000


def _word_address(address: str) -> str:
    return address.lower().removeprefix("0x").rjust(64, "0")


def _hex(value: Any) -> str:
    """bytes/HexBytes/str → 0x-prefixed lower-case hex."""
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text if text.startswith("0x") else "0x" + text


@functools.lru_cache(maxsize=65_536)  # senders repeat (exchanges, the hot wallet): keccak once each
def _checksum(hex40: str) -> str:
    return str(to_checksum_address("0x" + hex40))


class EvmClient:
    def __init__(self, network: Network) -> None:
        self.network = network
        self._fallback = Fallback(network)
        self._w3 = [
            AsyncWeb3(
                AsyncHTTPProvider(
                    url,
                    request_kwargs={"timeout": network.rpc_timeout_seconds},
                    exception_retry_configuration=None,  # our fallback decides, not web3's retries
                )
            )
            for url in network.rpc_urls
        ]
        self._contract = to_checksum_address(network.token_contract)
        self._chain_checked: set[int] = set()

    @property
    def rpc_errors(self) -> int:
        return self._fallback.rpc_errors

    async def _checked(self, index: int) -> AsyncWeb3[Any]:
        """The client for URL ``index``, after checking once that it serves the configured chain."""
        w3 = self._w3[index]
        if index not in self._chain_checked and self.network.chain_id is not None:
            chain_id = await w3.eth.chain_id
            if chain_id != self.network.chain_id:
                raise ChainUnavailable(
                    f"{self.network.name}: RPC URL {index} serves chain {chain_id}, not {self.network.chain_id}",
                    network=self.network.name,
                )
            self._chain_checked.add(index)
        return w3

    async def head(self) -> int:
        async def call(index: int) -> int:
            return int(await (await self._checked(index)).eth.block_number)

        return await self._fallback.call("eth_blockNumber", call)

    async def safe_head(self) -> int:
        return await self.head()

    async def block_hash(self, number: int) -> str | None:
        async def call(index: int) -> str | None:
            w3 = await self._checked(index)
            block = await w3.eth.get_block(number) if number <= await w3.eth.block_number else None
            return _hex(block["hash"]) if block is not None else None

        return await self._fallback.call("eth_getBlockByNumber", call)

    async def token_transfers(self, from_block: int, to_block: int) -> list[TokenTransfer]:
        """The raw ``eth_getLogs`` answer, parsed here: web3's result formatters cost more than the
        node's answer (about 0.5 ms a log). Addresses come back in lower case
        (they are matched case-insensitively; ``display`` checksums them)."""

        async def call(index: int) -> list[TokenTransfer]:
            w3 = await self._checked(index)
            answer = await w3.provider.make_request(
                RPCEndpoint("eth_getLogs"),
                [
                    {
                        "fromBlock": hex(from_block),
                        "toBlock": hex(to_block),
                        "address": self._contract,
                        "topics": ["0x" + TRANSFER_TOPIC],
                    }
                ],
            )
            if "error" in answer or not isinstance(answer.get("result"), list):
                raise ChainUnavailable(f"eth_getLogs: {str(answer.get('error'))[:200]}", network=self.network.name)
            positions: dict[str, int] = {}  # a block range never splits a transaction
            found = []
            for entry in answer["result"]:
                if len(entry.get("topics", ())) != 3:
                    continue
                tx_hash = entry["transactionHash"].lower()
                position = positions[tx_hash] = positions.get(tx_hash, -1) + 1
                found.append(self._transfer(entry, position))
            return found

        return await self._fallback.call("eth_getLogs", call)

    def _transfer(self, entry: dict[str, Any], position: int) -> TokenTransfer:
        """``log_index`` is the transfer's position among the token's Transfer logs of its
        transaction, not the block-wide ``logIndex``: it stays the same when a reorg mines the
        transaction again in another block, so the deposit is recognised, not credited twice."""
        if entry.get("removed"):
            raise ChainUnavailable("eth_getLogs returned a removed log", network=self.network.name)
        data = entry.get("data") or "0x"
        return TokenTransfer(
            tx_hash=entry["transactionHash"].lower(),
            log_index=position,
            block_number=int(entry["blockNumber"], 16),
            block_hash=entry["blockHash"].lower(),
            from_address="0x" + entry["topics"][1][-40:].lower(),
            to_address="0x" + entry["topics"][2][-40:].lower(),
            raw_amount=int(data, 16) if data != "0x" else 0,
        )

    def display(self, address: str) -> str:
        return _checksum(address.lower().removeprefix("0x"))

    async def locate(self, tx_hash: str, log_index: int) -> Location | None:
        async def call(index: int) -> Location | None:
            w3 = await self._checked(index)
            try:
                receipt = await w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except Exception as exc:  # web3 raises TransactionNotFound for "no such receipt"
                if type(exc).__name__ == "TransactionNotFound":
                    return None
                raise
            if receipt is None or int(receipt.get("status", 1)) != 1:
                return None
            transfers = [
                entry
                for entry in receipt["logs"]
                if to_checksum_address(entry["address"]) == self._contract
                and len(entry["topics"]) == 3
                and _hex(entry["topics"][0]) == "0x" + TRANSFER_TOPIC
            ]
            if log_index >= len(transfers):
                return None
            entry = transfers[log_index]
            data = _hex(entry["data"])
            return Location(
                int(receipt["blockNumber"]),
                _hex(receipt["blockHash"]),
                to_address="0x" + _hex(entry["topics"][2])[-40:],
                raw_amount=int(data, 16) if data != "0x" else 0,
            )

        return await self._fallback.call("eth_getTransactionReceipt", call)

    # --- sending ---------------------------------------------------------------------------

    async def _rpc(self, method: str, params: list[Any]) -> Any:
        """A raw JSON-RPC call with fallback; a JSON-RPC error is an outage here (reads only)."""

        async def call(index: int) -> Any:
            answer = await (await self._checked(index)).provider.make_request(RPCEndpoint(method), params)
            if "error" in answer:
                raise ChainUnavailable(f"{method}: {str(answer['error'])[:200]}", network=self.network.name)
            return answer.get("result")

        return await self._fallback.call(method, call)

    async def token_balance(self, address: str) -> int:
        data = "0x70a08231" + _word_address(address)
        return int(await self._rpc("eth_call", [{"to": self._contract, "data": data}, "latest"]), 16)

    async def native_balance(self, address: str) -> int:
        return int(await self._rpc("eth_getBalance", [address, "latest"]), 16)

    async def prepare(self, sender: str) -> dict[str, Any]:
        return {
            "gas_price": int(await self._rpc("eth_gasPrice", []), 16),
            "nonce": int(await self._rpc("eth_getTransactionCount", [sender, "pending"]), 16),
        }

    def _sign(
        self, signer: Signer, transfer: OutgoingTransfer, to: str, value: int, data: str, gas: int
    ) -> SignedTransfer:
        if self.network.chain_id is None or transfer.nonce is None or transfer.gas_price is None:
            raise ValueError("an EVM transfer needs the chain id, a nonce and a gas price")
        transaction = {
            "chainId": self.network.chain_id,
            "nonce": transfer.nonce,
            "gasPrice": transfer.gas_price,
            "gas": gas,
            "to": to,
            "value": value,
            "data": data,
        }
        raw, tx_hash = signer.sign_evm(transaction, transfer.index, transfer.account)
        return SignedTransfer(tx_hash=tx_hash.lower(), signed=raw, nonce=transfer.nonce, gas_price=transfer.gas_price)

    def sign_transfer(self, signer: Signer, transfer: OutgoingTransfer) -> SignedTransfer:
        data = "0xa9059cbb" + _word_address(transfer.to) + f"{transfer.amount:064x}"
        return self._sign(signer, transfer, self._contract, 0, data, self.network.transfer_gas)

    def sign_native(self, signer: Signer, transfer: OutgoingTransfer) -> SignedTransfer:
        return self._sign(
            signer, transfer, to_checksum_address(transfer.to), transfer.amount, "0x", NATIVE_TRANSFER_GAS
        )

    async def send(self, signed: str) -> SendOutcome:
        async def call(index: int) -> SendOutcome:
            w3 = await self._checked(index)
            answer = await w3.provider.make_request(RPCEndpoint("eth_sendRawTransaction"), [signed])
            if "error" not in answer:
                return SendOutcome(accepted=True)
            message = str(
                answer["error"].get("message", answer["error"])
                if isinstance(answer["error"], dict)
                else answer["error"]
            )
            lowered = message.lower()
            if "already known" in lowered or "known transaction" in lowered or "nonce too low" in lowered:
                return SendOutcome(accepted=False, known=True, error=message[:300])
            return SendOutcome(accepted=False, error=message[:300], retryable=True)

        return await self._fallback.call("eth_sendRawTransaction", call)

    async def head_time(self) -> dt.datetime | None:
        return None  # EVM transactions do not expire: nothing is decided by the chain's clock

    async def nonce_used(self, sender: str, nonce: int) -> bool:
        return int(await self._rpc("eth_getTransactionCount", [sender, "latest"]), 16) > nonce

    async def receipt(self, tx_hash: str) -> Receipt | None:
        found = await self._rpc("eth_getTransactionReceipt", [tx_hash])
        if not found or not found.get("blockNumber"):
            return None
        succeeded = int(found.get("status", "0x1"), 16) == 1
        fee = int(found.get("gasUsed", "0x0"), 16) * int(found.get("effectiveGasPrice", "0x0"), 16)
        return Receipt(
            int(found["blockNumber"], 16),
            str(found["blockHash"]).lower(),
            succeeded,
            "" if succeeded else "reverted",
            fee,
        )

    async def close(self) -> None:
        for w3 in self._w3:
            await w3.provider.disconnect()
