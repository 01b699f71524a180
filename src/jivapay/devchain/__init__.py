"""A local EVM chain for development and tests: anvil (npm @foundry-rs/anvil) and a USDT-like token.

Never used in production: `jivapay up` starts it only with JIVAPAY_DEV_CHAIN=anvil, and the tests
start their own. anvil's accounts are unlocked, so nothing here holds a private key.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

ARTIFACT = Path(__file__).with_name("TestUSDT.json")
_NPM_BINARY = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")


def find_anvil() -> str | None:
    """ANVIL_BIN, the project's npm install (from this checkout or the current directory), or PATH."""
    candidates = [os.environ.get("ANVIL_BIN", "")]
    for root in (Path(__file__).resolve().parents[3], Path.cwd()):
        candidates.append(str(root / _NPM_BINARY))
    candidates.append(shutil.which("anvil") or "")
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Anvil:
    """One anvil process; ``rpc(method, *params)`` talks JSON-RPC to it."""

    def __init__(
        self,
        *,
        chain_id: int = 31337,
        port: int | None = None,
        block_time: float | None = None,
        gas_limit: int | None = None,
    ) -> None:
        binary = find_anvil()
        if binary is None:
            raise RuntimeError("anvil not found: run `npm ci` at the project root (or set ANVIL_BIN)")
        self.chain_id = chain_id
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [binary, "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(chain_id), "--silent"]
        if block_time:
            args += ["--block-time", str(block_time)]
        if gas_limit:
            args += ["--gas-limit", str(gas_limit)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        self._client = httpx.Client(timeout=30)
        self._id = 0
        deadline = time.monotonic() + 30
        while True:
            try:
                self.rpc("eth_chainId")
                break
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"anvil did not start on port {self.port}") from None
                time.sleep(0.1)
        self.accounts: list[str] = self.rpc("eth_accounts")

    def rpc(self, method: str, *params: Any) -> Any:
        self._id += 1
        answer = self._client.post(
            self.url, json={"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}
        )
        body = answer.json()
        if "error" in body:
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def head(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def send(self, sender: str, to: str | None, data: str, *, gas: int = 3_000_000) -> dict[str, Any]:
        """A transaction from an unlocked account, mined (anvil automines); returns its receipt."""
        tx: dict[str, Any] = {"from": sender, "data": data, "gas": hex(gas)}
        if to is not None:
            tx["to"] = to
        tx_hash = self.rpc("eth_sendTransaction", tx)
        receipt: dict[str, Any] | None = None
        for _ in range(300):
            receipt = self.rpc("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                break
            time.sleep(0.05)
        if receipt is None or int(receipt["status"], 16) != 1:
            raise RuntimeError(f"transaction {tx_hash} failed: {receipt}")
        return receipt

    def deploy_token(self, decimals: int) -> str:
        """Deploy TestUSDT with ``decimals``; returns its address."""
        artifact = json.loads(ARTIFACT.read_text())
        constructor = decimals.to_bytes(32, "big").hex()
        receipt = self.send(self.accounts[0], None, artifact["bytecode"] + constructor, gas=5_000_000)
        return str(receipt["contractAddress"])

    def mint(self, token: str, to: str, amount: int) -> dict[str, Any]:
        return self.send(self.accounts[0], token, "0x40c10f19" + _address_word(to) + _uint_word(amount))

    def transfer(self, token: str, sender: str, to: str, amount: int) -> dict[str, Any]:
        return self.send(sender, token, "0xa9059cbb" + _address_word(to) + _uint_word(amount))

    def batch_transfer(self, token: str, sender: str, recipients: list[str], amounts: list[int]) -> str:
        """batchTransfer(address[],uint256[]) sent without waiting: returns the tx hash."""
        n = len(recipients)
        head = _uint_word(64) + _uint_word(64 + 32 * (n + 1))
        data = "0x88d695b2" + head + _uint_word(n) + "".join(_address_word(r) for r in recipients)
        data += _uint_word(n) + "".join(_uint_word(a) for a in amounts)
        tx = {"from": sender, "to": token, "data": data, "gas": hex(40_000 * n + 100_000)}
        return str(self.rpc("eth_sendTransaction", tx))

    def balance_of(self, token: str, owner: str) -> int:
        return int(self.rpc("eth_call", {"to": token, "data": "0x70a08231" + _address_word(owner)}, "latest"), 16)

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc("evm_revert", snapshot_id):
            raise RuntimeError(f"evm_revert {snapshot_id} refused")

    def close(self) -> None:
        self._client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mint_on(rpc_url: str, token: str, to: str, units: int) -> str:
    """Mint ``units`` of the test token to ``to`` from anvil's first (unlocked) account; the tx hash."""
    if not (to.startswith("0x") and len(to) == 42):
        raise ValueError(f"not an EVM address: {to!r}")
    with httpx.Client(timeout=30) as client:

        def rpc(method: str, *params: Any) -> Any:
            body = client.post(rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
            if "error" in body:
                raise RuntimeError(f"{method}: {body['error'].get('message', body['error'])}")
            return body["result"]

        sender = rpc("eth_accounts")[0]
        data = "0x40c10f19" + _address_word(to) + _uint_word(units)
        return str(rpc("eth_sendTransaction", {"from": sender, "to": token, "data": data, "gas": hex(200_000)}))


def _address_word(address: str) -> str:
    return address.lower().removeprefix("0x").rjust(64, "0")


def _uint_word(value: int) -> str:
    return hex(value)[2:].rjust(64, "0")
