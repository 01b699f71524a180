"""TRON (TRC20) over the java-tron full node HTTP API (TronGrid speaks it too).

Blocks are read one by one: ``/wallet/gettransactioninfobyblocknum`` gives every transaction's
event logs in a block (one request per block whatever the number of our addresses), and
``/wallet/getblockbynum`` its ID (the block hash). The safe head is the solidified block
(``/walletsolidity/getnowblock``): a deposit is credited only once its block is solidified and
has the configured confirmations. Addresses are converted with tronpy's keys (base58check).
"""

from __future__ import annotations

from typing import Any

import httpx
from tronpy.keys import to_base58check_address, to_hex_address

from jivapay.adapters.chains.base import TRANSFER_TOPIC, Fallback, Location, TokenTransfer
from jivapay.domain.errors import ChainUnavailable
from jivapay.domain.wallet.networks import Network


def log_address(hex20: str) -> str:
    """A 20-byte address from a log (no 41 prefix) or a 32-byte topic → base58 ``T…``."""
    return str(to_base58check_address("41" + hex20[-40:]))


class TronClient:
    def __init__(self, network: Network) -> None:
        self.network = network
        self._fallback = Fallback(network)
        self._http = httpx.AsyncClient(timeout=network.rpc_timeout_seconds)
        self._contract = str(to_hex_address(network.token_contract))[2:].lower()  # 20 bytes, as logs carry it

    @property
    def rpc_errors(self) -> int:
        return self._fallback.rpc_errors

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        async def call(index: int) -> Any:
            answer = await self._http.post(self.network.rpc_urls[index].rstrip("/") + path, json=body)
            if answer.status_code != 200:
                raise ChainUnavailable(f"{path} answered HTTP {answer.status_code}", network=self.network.name)
            try:
                data = answer.json()
            except ValueError:
                raise ChainUnavailable(
                    f"{path} answered something that is not JSON", network=self.network.name
                ) from None
            if isinstance(data, dict) and "Error" in data:
                raise ChainUnavailable(f"{path}: {str(data['Error'])[:200]}", network=self.network.name)
            return data

        return await self._fallback.call(path, call)

    @staticmethod
    def _number(block: Any) -> int:
        try:
            return int(block["block_header"]["raw_data"]["number"])
        except (KeyError, TypeError, ValueError):
            raise ChainUnavailable("the node answered a block without a number") from None

    async def head(self) -> int:
        return self._number(await self._post("/wallet/getnowblock", {}))

    async def safe_head(self) -> int:
        return self._number(await self._post("/walletsolidity/getnowblock", {}))

    async def block_hash(self, number: int) -> str | None:
        block = await self._post("/wallet/getblockbynum", {"num": number})
        return str(block["blockID"]) if isinstance(block, dict) and block.get("blockID") else None

    async def _infos(self, number: int) -> list[dict[str, Any]]:
        infos = await self._post("/wallet/gettransactioninfobyblocknum", {"num": number})
        if isinstance(infos, dict):  # java-tron answers {} for a block without transactions
            return []
        if not isinstance(infos, list):
            raise ChainUnavailable("gettransactioninfobyblocknum answered neither a list nor {}")
        return infos

    def _transfers(self, info: dict[str, Any], block_hash: str) -> list[TokenTransfer]:
        if info.get("receipt", {}).get("result", "SUCCESS") != "SUCCESS":
            return []
        found = []
        for index, entry in enumerate(info.get("log") or []):
            topics = entry.get("topics") or []
            if str(entry.get("address", "")).lower()[-40:] != self._contract or len(topics) != 3:
                continue
            if str(topics[0]).lower().removeprefix("0x") != TRANSFER_TOPIC:
                continue
            found.append(
                TokenTransfer(
                    tx_hash=str(info["id"]),
                    log_index=index,
                    block_number=int(info["blockNumber"]),
                    block_hash=block_hash,
                    from_address=log_address(str(topics[1])),
                    to_address=log_address(str(topics[2])),
                    raw_amount=int(str(entry.get("data") or "0") or "0", 16),
                )
            )
        return found

    async def token_transfers(self, from_block: int, to_block: int) -> list[TokenTransfer]:
        transfers: list[TokenTransfer] = []
        for number in range(from_block, to_block + 1):
            infos = await self._infos(number)
            if not infos:
                continue
            block_hash = await self.block_hash(number)
            if block_hash is None:
                raise ChainUnavailable(f"block {number} has transactions but no ID", network=self.network.name)
            for info in infos:
                transfers.extend(self._transfers(info, block_hash))
        return transfers

    def display(self, address: str) -> str:
        return address

    async def locate(self, tx_hash: str, log_index: int) -> Location | None:
        info = await self._post("/wallet/gettransactioninfobyid", {"value": tx_hash.removeprefix("0x")})
        if not isinstance(info, dict) or "blockNumber" not in info:
            return None
        block_hash = await self.block_hash(int(info["blockNumber"]))
        if block_hash is None:
            return None
        if not any(t.log_index == log_index for t in self._transfers(info, block_hash)):
            return None
        return Location(int(info["blockNumber"]), block_hash)

    async def close(self) -> None:
        await self._http.aclose()
