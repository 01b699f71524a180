"""TRON (TRC20) over the java-tron full node HTTP API (TronGrid speaks it too).

Blocks are read one by one: ``/wallet/gettransactioninfobyblocknum`` gives every transaction's
event logs in a block (one request per block whatever the number of our addresses), and
``/wallet/getblockbynum`` its ID (the block hash). The safe head is the solidified block
(``/walletsolidity/getnowblock``): a deposit is credited only once its block is solidified and
has the configured confirmations. Addresses are converted with tronpy's keys (base58check).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
from tronpy.keys import to_base58check_address, to_hex_address
from tronpy.proto import calculate_txid_from_raw_data

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

# a signed transfer is valid 10 minutes; after that it can never be mined
TRON_EXPIRATION_MS = 10 * 60 * 1000


def _word(address: str) -> str:
    """A TRON address as a 32-byte ABI word (its 20 bytes without the 41 prefix)."""
    return str(to_hex_address(address))[2:].rjust(64, "0")


def _text(message: Any) -> str:
    """java-tron's message: hex of the text (plain when visible)."""
    try:
        return bytes.fromhex(str(message)).decode(errors="replace")
    except ValueError:
        return str(message)


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
        found = [t for t in self._transfers(info, block_hash) if t.log_index == log_index]
        if not found:
            return None
        return Location(
            int(info["blockNumber"]), block_hash, to_address=found[0].to_address, raw_amount=found[0].raw_amount
        )

    # --- sending ---------------------------------------------------------------------------

    async def token_balance(self, address: str) -> int:
        answer = await self._post(
            "/wallet/triggerconstantcontract",
            {
                "owner_address": address,
                "contract_address": self.network.token_contract,
                "function_selector": "balanceOf(address)",
                "parameter": _word(address),
                "visible": True,
            },
        )
        results = answer.get("constant_result") or [] if isinstance(answer, dict) else []
        if not results:
            raise ChainUnavailable("balanceOf answered no result", network=self.network.name)
        return int(results[0] or "0", 16)

    async def native_balance(self, address: str) -> int:
        account = await self._post("/wallet/getaccount", {"address": address, "visible": True})
        return int(account.get("balance", 0)) if isinstance(account, dict) else 0

    async def prepare(self, sender: str) -> dict[str, Any]:
        block = await self._post("/walletsolidity/getnowblock", {})  # tronpy's reference: the solidified head
        block_id = block.get("blockID") if isinstance(block, dict) else None
        if not block_id:
            raise ChainUnavailable("the node answered no solidified block", network=self.network.name)
        try:
            chain_time_ms = int(block["block_header"]["raw_data"].get("timestamp", 0))
        except (KeyError, TypeError, AttributeError, ValueError):
            chain_time_ms = 0
        return {"ref_block_id": str(block_id), "chain_time_ms": chain_time_ms}

    def _signed(self, signer: Signer, transfer: OutgoingTransfer, contract: dict[str, Any]) -> SignedTransfer:
        # the expiration counts from the chain's clock when ours is behind it (a node compares it
        # with its head block's time): a slow server clock must not sign transactions born expired
        now_ms = max(int(dt.datetime.now(dt.UTC).timestamp() * 1000), int(transfer.prepared.get("chain_time_ms", 0)))
        now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
        ref = transfer.prepared["ref_block_id"]
        raw_data: dict[str, Any] = {
            "contract": [contract],
            "ref_block_bytes": ref[12:16],
            "ref_block_hash": ref[16:32],
            "expiration": now_ms + TRON_EXPIRATION_MS,
            "timestamp": now_ms,
        }
        if contract["type"] == "TriggerSmartContract":
            raw_data["fee_limit"] = self.network.fee_limit_sun
        txid = calculate_txid_from_raw_data(raw_data)
        signature = signer.sign_tron(txid, transfer.index, transfer.account)
        signed = json.dumps({"txID": txid, "raw_data": raw_data, "signature": [signature], "visible": False})
        expires = now + dt.timedelta(milliseconds=TRON_EXPIRATION_MS)
        return SignedTransfer(tx_hash=txid, signed=signed, expires_at=expires)

    @staticmethod
    def _call(kind: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"parameter": {"value": value, "type_url": f"type.googleapis.com/protocol.{kind}"}, "type": kind}

    def sign_transfer(self, signer: Signer, transfer: OutgoingTransfer) -> SignedTransfer:
        value = {
            "data": "a9059cbb" + _word(transfer.to) + f"{transfer.amount:064x}",
            "owner_address": str(to_hex_address(transfer.sender)),
            "contract_address": str(to_hex_address(self.network.token_contract)),
        }
        return self._signed(signer, transfer, self._call("TriggerSmartContract", value))

    def sign_native(self, signer: Signer, transfer: OutgoingTransfer) -> SignedTransfer:
        value = {
            "amount": transfer.amount,
            "owner_address": str(to_hex_address(transfer.sender)),
            "to_address": str(to_hex_address(transfer.to)),
        }
        return self._signed(signer, transfer, self._call("TransferContract", value))

    async def send(self, signed: str) -> SendOutcome:
        answer = await self._post("/wallet/broadcasttransaction", json.loads(signed))
        if isinstance(answer, dict) and answer.get("result") is True:
            return SendOutcome(accepted=True)
        code = str(answer.get("code", "")) if isinstance(answer, dict) else ""
        message = _text(answer.get("message", "")) if isinstance(answer, dict) else ""
        if code == "DUP_TRANSACTION_ERROR":
            return SendOutcome(accepted=False, known=True, error=code)
        final = code in ("TRANSACTION_EXPIRATION_ERROR", "TAPOS_ERROR", "SIGERROR")
        return SendOutcome(accepted=False, error=f"{code}: {message}"[:300], retryable=not final)

    async def head_time(self) -> dt.datetime | None:
        block = await self._post("/wallet/getnowblock", {})
        try:
            millis = int(block["block_header"]["raw_data"]["timestamp"])
        except (KeyError, TypeError, ValueError):
            raise ChainUnavailable("the node answered a block without a timestamp") from None
        return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)

    async def nonce_used(self, sender: str, nonce: int) -> bool:
        return False  # TRON has no nonces: an unmined transaction ends by expiring

    async def receipt(self, tx_hash: str) -> Receipt | None:
        info = await self._post("/wallet/gettransactioninfobyid", {"value": tx_hash.removeprefix("0x")})
        if not isinstance(info, dict) or "blockNumber" not in info:
            return None
        block_hash = await self.block_hash(int(info["blockNumber"]))
        if block_hash is None:
            return None
        result = str(info.get("receipt", {}).get("result", "SUCCESS"))
        succeeded = result == "SUCCESS" and info.get("result") != "FAILED"
        fee = int(info.get("fee", 0) or 0)  # burned TRX for energy and bandwidth (absent when none was)
        return Receipt(int(info["blockNumber"]), block_hash, succeeded, "" if succeeded else result, fee)

    async def close(self) -> None:
        await self._http.aclose()
