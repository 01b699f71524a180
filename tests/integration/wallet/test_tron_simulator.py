"""The TRON simulator against tronpy's own clients and raw java-tron-shaped HTTP calls."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
import requests
from tronpy import AsyncTron, Tron
from tronpy.exceptions import BadKey, BadSignature, TransactionError, TransactionNotFound, ValidationError
from tronpy.keys import PrivateKey, sha256
from tronpy.providers import AsyncHTTPProvider, HTTPProvider

from tests.fixtures.tron import TRANSFER_TOPIC, TronSimulator, txid_of

USDT = 10**6
TRX = 10**6


def key(name: str) -> PrivateKey:
    return PrivateKey(sha256(name.encode()))


def address(private_key: PrivateKey) -> str:
    return str(private_key.public_key.to_base58check_address())


def hex_address(private_key: PrivateKey) -> str:
    return str(private_key.public_key.to_hex_address())


def post(sim: TronSimulator, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.post(f"{sim.url}{path}", json=body or {}, timeout=5)
    assert response.status_code == 200
    return response.json()


def word(value: int) -> str:
    return f"{value:064x}"


@pytest.fixture
def client(tron_sim: TronSimulator) -> Tron:
    return Tron(HTTPProvider(tron_sim.url, timeout=5))


ALICE, BOB, CAROL = key("alice"), key("bob"), key("carol")


def test_trx_transfer_to_a_new_then_an_existing_account(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 100 * TRX)
    assert client.get_account_balance(address(ALICE)) == Decimal(100)
    assert post(tron_sim, "/wallet/getaccount", {"address": hex_address(BOB)}) == {}

    ret = client.trx.transfer(address(ALICE), address(BOB), 5 * TRX).build().sign(ALICE).broadcast()
    assert ret["result"] is True
    assert post(tron_sim, "/wallet/gettransactioninfobyid", {"value": ret.txid}) == {}  # pending, not in a block
    assert post(tron_sim, "/wallet/gettransactionbyid", {"value": ret.txid})["txID"] == ret.txid
    head = tron_sim.mine()

    info = ret.wait(timeout=5, interval=0.1)
    assert info["blockNumber"] == head
    assert info["fee"] == 1_100_000  # 1 TRX account creation + 0.1 TRX bandwidth for it
    assert info["receipt"] == {"net_fee": 100_000}
    assert client.get_account_balance(address(ALICE)) == Decimal("93.9")
    assert client.get_account_balance(address(BOB)) == Decimal(5)

    block = post(tron_sim, "/wallet/getblockbynum", {"num": head})
    assert block["blockID"][:16] == f"{head:016x}"
    assert block["block_header"]["raw_data"]["number"] == head
    assert (
        block["block_header"]["raw_data"]["parentHash"]
        == post(tron_sim, "/wallet/getblockbynum", {"num": head - 1})["blockID"]
    )
    [tx] = block["transactions"]
    assert tx["txID"] == ret.txid
    assert tx["ret"] == [{"contractRet": "SUCCESS"}]
    value = tx["raw_data"]["contract"][0]["parameter"]["value"]
    assert value == {"owner_address": hex_address(ALICE), "to_address": hex_address(BOB), "amount": 5 * TRX}
    assert txid_of(tx["raw_data"]) == ret.txid
    assert sha256(bytes.fromhex(tx["raw_data_hex"])).hex() == ret.txid

    again = client.trx.transfer(address(ALICE), address(BOB), TRX).build().sign(ALICE).broadcast()
    tron_sim.mine()
    info = again.wait(timeout=5, interval=0.1)
    assert "fee" not in info  # free bandwidth pays a transfer to an existing account
    assert 200 < info["receipt"]["net_usage"] < 300
    assert tron_sim.trx_balance(address(ALICE)) == 92_900_000
    assert tron_sim.trx_balance(address(BOB)) == 6 * TRX


def test_trx_beyond_balance_is_refused_at_broadcast(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 2 * TRX)
    txn = client.trx.transfer(address(ALICE), address(BOB), 1 * TRX).build().sign(ALICE)  # + 1.1 TRX new account
    answer = post(tron_sim, "/wallet/broadcasttransaction", txn.to_json())
    assert answer["result"] is False
    assert answer["code"] == "CONTRACT_VALIDATE_ERROR"
    assert bytes.fromhex(answer["message"]).decode() == (
        "Contract validate error : Validate TransferContract error, balance is not sufficient."
    )
    with pytest.raises(ValidationError, match="balance is not sufficient"):
        txn.broadcast()
    tron_sim.mine()
    assert tron_sim.trx_balance(address(ALICE)) == 2 * TRX


def test_pending_transactions_count_against_the_balance(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 10 * TRX)
    tron_sim.fund_trx(address(BOB), 1)
    client.trx.transfer(address(ALICE), address(BOB), 6 * TRX).build().sign(ALICE).broadcast()
    with pytest.raises(ValidationError):
        client.trx.transfer(address(ALICE), address(BOB), 6 * TRX).build().sign(ALICE).broadcast()


def test_wrong_key_is_refused_with_sigerror(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 10 * TRX)
    txn = client.trx.transfer(address(ALICE), address(BOB), TRX).build()
    with pytest.raises(BadKey):  # tronpy checks the owner permission getsignweight returned
        txn.sign(CAROL)
    txn.set_signature([CAROL.sign_msg_hash(bytes.fromhex(txn.txid)).hex()])
    answer = post(tron_sim, "/wallet/broadcasttransaction", txn.to_json())
    assert answer["result"] is False
    assert answer["code"] == "SIGERROR"
    message = bytes.fromhex(answer["message"]).decode()
    assert message.startswith("Validate signature error: ")
    assert f"is signed by {address(CAROL)} but it is not contained of permission." in message
    with pytest.raises(BadSignature):
        txn.broadcast()
    assert tron_sim.pending_txids() == []


def test_duplicate_expired_and_tapos_are_refused(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 10 * TRX)
    tron_sim.fund_trx(address(BOB), 1)
    txn = client.trx.transfer(address(ALICE), address(BOB), TRX).build().sign(ALICE)
    assert post(tron_sim, "/wallet/broadcasttransaction", txn.to_json())["result"] is True
    dup = post(tron_sim, "/wallet/broadcasttransaction", txn.to_json())
    assert (dup["code"], bytes.fromhex(dup["message"]).decode()) == ("DUP_TRANSACTION_ERROR", "Dup transaction.")
    tron_sim.mine()
    assert post(tron_sim, "/wallet/broadcasttransaction", txn.to_json())["code"] == "DUP_TRANSACTION_ERROR"

    late = client.trx.transfer(address(ALICE), address(BOB), 2 * TRX).build().sign(ALICE)
    tron_sim.advance_time(61)
    with pytest.raises(TransactionError, match="Transaction expired"):
        late.broadcast()

    raw = post(
        tron_sim,
        "/wallet/createtransaction",
        {"owner_address": hex_address(ALICE), "to_address": hex_address(BOB), "amount": 3},
    )
    raw["raw_data"]["ref_block_hash"] = "00" * 8
    txid = txid_of(raw["raw_data"])
    raw.update(txID=txid, signature=[ALICE.sign_msg_hash(bytes.fromhex(txid)).hex()])
    assert post(tron_sim, "/wallet/broadcasttransaction", raw)["code"] == "TAPOS_ERROR"


def test_create_sign_broadcast_without_tronpy(tron_sim: TronSimulator) -> None:
    """The node-side builders a plain HTTP client uses: createtransaction / triggersmartcontract."""
    tron_sim.fund_trx(address(ALICE), 100 * TRX)
    tron_sim.mint(address(ALICE), 10 * USDT)
    tx = post(
        tron_sim,
        "/wallet/createtransaction",
        {"owner_address": address(ALICE), "to_address": address(BOB), "amount": 7, "visible": True},
    )
    assert tx["visible"] is True
    assert tx["raw_data"]["contract"][0]["parameter"]["value"]["to_address"] == address(BOB)
    assert sha256(bytes.fromhex(tx["raw_data_hex"])).hex() == tx["txID"]
    tx["signature"] = [ALICE.sign_msg_hash(bytes.fromhex(tx["txID"])).hex()]
    assert post(tron_sim, "/wallet/broadcasttransaction", tx) == {"result": True, "txid": tx["txID"]}

    trigger = post(
        tron_sim,
        "/wallet/triggersmartcontract",
        {
            "owner_address": hex_address(ALICE),
            "contract_address": tron_sim.token_address_hex,
            "function_selector": "transfer(address,uint256)",
            "parameter": hex_address(BOB)[2:].rjust(64, "0") + word(USDT),
            "fee_limit": 50 * TRX,
        },
    )
    assert trigger["result"] == {"result": True}
    call = trigger["transaction"]
    assert call["raw_data"]["fee_limit"] == 50 * TRX
    call["signature"] = [ALICE.sign_msg_hash(bytes.fromhex(call["txID"])).hex()]
    assert post(tron_sim, "/wallet/broadcasttransaction", call)["result"] is True
    tron_sim.mine()
    assert tron_sim.token_balance(address(BOB)) == USDT
    assert tron_sim.trx_balance(address(BOB)) == 7


def test_trc20_mint_balance_transfer_and_the_log(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 100 * TRX)
    tron_sim.mint(address(ALICE), 500 * USDT)
    contract = client.get_contract(tron_sim.token_address)
    assert contract.functions.balanceOf(address(ALICE)) == 500 * USDT
    assert contract.functions.decimals() == 6
    assert contract.functions.symbol() == "USDT"
    assert contract.functions.balanceOf(address(BOB)) == 0

    ret = (
        contract.functions.transfer(address(BOB), 120 * USDT)
        .with_owner(address(ALICE))
        .fee_limit(100 * TRX)
        .build()
        .sign(ALICE)
        .broadcast()
    )
    head = tron_sim.mine()
    info = ret.wait(timeout=5, interval=0.1)
    assert ret.result(timeout=5, interval=0.1) is True
    assert info["receipt"]["result"] == "SUCCESS"
    assert info["receipt"]["energy_usage_total"] == 64_895  # BOB held none: a new storage slot
    assert info["fee"] == info["receipt"]["energy_fee"] == 64_895 * 420
    [event] = contract.events.Transfer.process_receipt(info)
    assert event["args"] == {"from": address(ALICE), "to": address(BOB), "value": 120 * USDT}

    [scanned] = post(tron_sim, "/wallet/gettransactioninfobyblocknum", {"num": head})
    assert scanned["id"] == ret.txid
    assert scanned["blockNumber"] == head
    assert scanned["contract_address"] == tron_sim.token_address_hex
    assert scanned["contractResult"] == [word(1)]
    [log] = scanned["log"]
    assert log == {
        "address": tron_sim.token_address_hex[2:],
        "topics": [TRANSFER_TOPIC, hex_address(ALICE)[2:].rjust(64, "0"), hex_address(BOB)[2:].rjust(64, "0")],
        "data": word(120 * USDT),
    }
    assert contract.functions.balanceOf(address(ALICE)) == 380 * USDT
    assert contract.functions.balanceOf(address(BOB)) == 120 * USDT
    assert tron_sim.trx_balance(address(ALICE)) == 100 * TRX - 64_895 * 420

    second = (
        contract.functions.transfer(address(BOB), USDT)
        .with_owner(address(ALICE))
        .fee_limit(100 * TRX)
        .build()
        .sign(ALICE)
        .broadcast()
    )
    tron_sim.mine()
    assert second.wait(timeout=5, interval=0.1)["receipt"]["energy_usage_total"] == 31_895  # BOB holds some now
    assert client.get_transaction_info(second.txid)["fee"] == 13_395_900


def test_trc20_beyond_balance_reverts_without_a_log(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 100 * TRX)
    tron_sim.mint(address(ALICE), 5 * USDT)
    contract = client.get_contract(tron_sim.token_address)
    ret = (
        contract.functions.transfer(address(BOB), 6 * USDT)
        .with_owner(address(ALICE))
        .fee_limit(100 * TRX)
        .build()
        .sign(ALICE)
        .broadcast()
    )
    head = tron_sim.mine()
    [info] = post(tron_sim, "/wallet/gettransactioninfobyblocknum", {"num": head})
    assert info["receipt"]["result"] == "REVERT"
    assert info["result"] == "FAILED"
    assert "log" not in info
    assert post(tron_sim, "/wallet/getblockbynum", {"num": head})["transactions"][0]["ret"] == [
        {"contractRet": "REVERT"}
    ]
    assert tron_sim.token_balance(address(ALICE)) == 5 * USDT
    assert tron_sim.token_balance(address(BOB)) == 0
    assert tron_sim.trx_balance(address(ALICE)) == 100 * TRX - info["fee"]
    with pytest.raises(Exception, match="REVERT"):
        ret.result(timeout=5, interval=0.1)


def test_trc20_out_of_energy(tron_sim: TronSimulator, client: Tron) -> None:
    contract = client.get_contract(tron_sim.token_address)
    tron_sim.fund_trx(address(ALICE), 0)  # activated, no TRX
    tron_sim.fund_trx(address(CAROL), 3 * TRX)  # some TRX, not 13.4
    for owner in (ALICE, CAROL):
        tron_sim.mint(address(owner), 10 * USDT)
        contract.functions.transfer(address(BOB), USDT).with_owner(address(owner)).fee_limit(100 * TRX).build().sign(
            owner
        ).broadcast()
    head = tron_sim.mine()
    broke, poor = post(tron_sim, "/wallet/gettransactioninfobyblocknum", {"num": head})
    assert broke["receipt"]["result"] == poor["receipt"]["result"] == "OUT_OF_ENERGY"
    assert "fee" not in broke
    assert "log" not in broke
    assert poor["fee"] == (3 * TRX // 420) * 420  # the whole energy limit burns, as on TRON
    assert tron_sim.trx_balance(address(CAROL)) == 3 * TRX - poor["fee"]
    assert tron_sim.token_balance(address(ALICE)) == tron_sim.token_balance(address(CAROL)) == 10 * USDT
    assert tron_sim.token_balance(address(BOB)) == 0

    tron_sim.fund_trx(address(ALICE), 1000 * TRX)  # enough TRX, but tronpy's default fee_limit is 10 TRX
    ret = contract.functions.transfer(address(BOB), USDT).with_owner(address(ALICE)).build().sign(ALICE).broadcast()
    tron_sim.mine()
    info = ret.wait(timeout=5, interval=0.1)
    assert info["receipt"]["result"] == "OUT_OF_ENERGY"
    assert info["fee"] == (10 * TRX // 420) * 420


def test_empty_blocks_and_unknown_numbers(tron_sim: TronSimulator) -> None:
    head = tron_sim.mine()
    block = post(tron_sim, "/wallet/getnowblock")
    assert block["block_header"]["raw_data"]["number"] == head
    assert "transactions" not in block  # java-tron leaves the key out for an empty block
    assert post(tron_sim, "/wallet/gettransactioninfobyblocknum", {"num": head}) == []
    assert post(tron_sim, "/wallet/gettransactioninfobyblocknum", {"num": head + 5}) == []
    assert post(tron_sim, "/wallet/gettransactioninfobyblocknum", {"num": 0}) == {}
    assert post(tron_sim, "/wallet/getblockbynum", {"num": head + 1}) == {}
    assert post(tron_sim, "/wallet/gettransactionbyid", {"value": "ab" * 32}) == {}
    assert post(tron_sim, "/wallet/gettransactioninfobyid", {"value": "ab" * 32}) == {}
    assert post(tron_sim, "/wallet/getblockbyid", {"value": block["blockID"]})["blockID"] == block["blockID"]
    assert httpx.get(f"{tron_sim.url}/wallet/getblockbynum?num={head}").json()["blockID"] == block["blockID"]
    info = post(tron_sim, "/wallet/getnodeinfo")
    assert info["block"] == f"Num:{head},ID:{block['blockID']}"


def test_solidified_lag_hides_recent_blocks(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 100 * TRX)
    tron_sim.mint(address(ALICE), 10 * USDT)
    contract = client.get_contract(tron_sim.token_address)
    ret = (
        contract.functions.transfer(address(BOB), USDT)
        .with_owner(address(ALICE))
        .fee_limit(100 * TRX)
        .build()
        .sign(ALICE)
        .broadcast()
    )
    mined_in = tron_sim.mine()
    solid = post(tron_sim, "/walletsolidity/getnowblock")
    assert solid["block_header"]["raw_data"]["number"] == mined_in - 19
    assert post(tron_sim, "/walletsolidity/getblockbynum", {"num": mined_in}) == {}
    assert post(tron_sim, "/walletsolidity/gettransactioninfobyblocknum", {"num": mined_in}) == []
    assert post(tron_sim, "/walletsolidity/gettransactioninfobyid", {"value": ret.txid}) == {}
    assert post(tron_sim, "/wallet/gettransactioninfobyid", {"value": ret.txid})["id"] == ret.txid
    with pytest.raises(TransactionNotFound):
        client.get_solid_transaction_info(ret.txid)
    solid_bob = post(
        tron_sim,
        "/walletsolidity/triggerconstantcontract",
        {
            "owner_address": hex_address(BOB),
            "contract_address": tron_sim.token_address_hex,
            "function_selector": "balanceOf(address)",
            "parameter": hex_address(BOB)[2:].rjust(64, "0"),
        },
    )
    assert solid_bob["constant_result"] == [word(0)]
    assert post(tron_sim, "/walletsolidity/getaccount", {"address": hex_address(ALICE)})["balance"] == 100 * TRX

    tron_sim.mine(18)
    assert post(tron_sim, "/walletsolidity/getblockbynum", {"num": mined_in}) == {}
    tron_sim.mine()
    assert post(tron_sim, "/walletsolidity/getblockbynum", {"num": mined_in})["blockID"] == tron_sim.block_id(mined_in)
    assert client.get_solid_transaction_info(ret.txid)["blockNumber"] == mined_in
    assert len(post(tron_sim, "/walletsolidity/gettransactioninfobyblocknum", {"num": mined_in})) == 1
    assert post(tron_sim, "/walletsolidity/getaccount", {"address": hex_address(ALICE)})["balance"] < 100 * TRX

    tron_sim.solidify_lag = 0
    assert post(tron_sim, "/walletsolidity/getnowblock")["blockID"] == post(tron_sim, "/wallet/getnowblock")["blockID"]


def test_reorg_drops_the_transaction_and_undoes_it(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 100 * TRX)
    tron_sim.mint(address(ALICE), 10 * USDT)
    contract = client.get_contract(tron_sim.token_address)
    txn = (
        contract.functions.transfer(address(BOB), 4 * USDT)
        .with_owner(address(ALICE))
        .fee_limit(100 * TRX)
        .build()
        .sign(ALICE)
    )
    txn.broadcast()
    mined_in = tron_sim.mine()
    tron_sim.mine(2)
    old_ids = [tron_sim.block_id(n) for n in range(mined_in, mined_in + 3)]
    assert tron_sim.token_balance(address(BOB)) == 4 * USDT

    tron_sim.reorg(3)
    assert tron_sim.head_number == mined_in + 2
    new_ids = [tron_sim.block_id(n) for n in range(mined_in, mined_in + 3)]
    assert all(a != b for a, b in zip(old_ids, new_ids, strict=True))
    assert post(tron_sim, "/wallet/getblockbynum", {"num": mined_in})["block_header"]["raw_data"][
        "parentHash"
    ] == tron_sim.block_id(mined_in - 1)
    assert "transactions" not in post(tron_sim, "/wallet/getblockbynum", {"num": mined_in})
    assert post(tron_sim, "/wallet/gettransactioninfobyid", {"value": txn.txid}) == {}
    assert post(tron_sim, "/wallet/gettransactioninfobyblocknum", {"num": mined_in}) == []
    assert tron_sim.token_balance(address(BOB)) == 0
    assert tron_sim.token_balance(address(ALICE)) == 10 * USDT
    assert tron_sim.trx_balance(address(ALICE)) == 100 * TRX
    assert post(tron_sim, "/wallet/getblockbyid", {"value": old_ids[0]}) == {}

    assert post(tron_sim, "/wallet/broadcasttransaction", txn.to_json())["result"] is True  # re-broadcast
    again = tron_sim.mine()
    assert post(tron_sim, "/wallet/gettransactioninfobyid", {"value": txn.txid})["blockNumber"] == again
    assert tron_sim.token_balance(address(BOB)) == 4 * USDT

    with pytest.raises(ValueError, match="solidified"):
        tron_sim.reorg(20)


def test_failure_modes(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fail_next(1, "500")
    with pytest.raises(requests.HTTPError) as failed:
        client.get_latest_block_number()
    assert failed.value.response.status_code == 500
    assert "Error" in failed.value.response.json()

    tron_sim.fail_next(1, "rate_limit")
    with pytest.raises(requests.HTTPError) as limited:
        client.get_latest_block_number()
    assert limited.value.response.status_code == 429

    tron_sim.fail_next(1, "garbage")
    with pytest.raises(json.JSONDecodeError):
        client.get_latest_block_number()

    tron_sim.timeout_seconds = 2
    tron_sim.fail_next(1, "timeout", path="wallet/getnowblock")
    assert client.get_latest_block_number() == tron_sim.head_number  # another path is not affected
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{tron_sim.url}/wallet/getnowblock", json={}, timeout=0.3)

    assert client.get_latest_block_number() == tron_sim.head_number
    assert tron_sim.requests["/wallet/getnodeinfo"] == 5
    assert tron_sim.requests["/wallet/getnowblock"] == 1


def test_a_fallback_node_serves_what_the_first_refuses() -> None:
    with TronSimulator() as primary, TronSimulator() as fallback:
        primary.fail_next(2, "500")

        def now_block() -> dict[str, Any]:
            for node in (primary, fallback):
                try:
                    return dict(Tron(HTTPProvider(node.url, timeout=2)).get_latest_block())
                except requests.RequestException:
                    continue
            raise AssertionError("no node answered")

        assert now_block()["blockID"] == fallback.block_id(fallback.head_number)
        assert primary.requests["/wallet/getnowblock"] == 1
        assert fallback.requests["/wallet/getnowblock"] == 1


def test_background_mining(tron_sim: TronSimulator, client: Tron) -> None:
    tron_sim.fund_trx(address(ALICE), 10 * TRX)
    start = tron_sim.head_number
    tron_sim.start_mining(0.1)
    ret = client.trx.transfer(address(ALICE), address(BOB), 2 * TRX).build().sign(ALICE).broadcast()
    info = ret.wait(timeout=10, interval=0.1)
    tron_sim.stop_mining()
    assert info["blockNumber"] > start
    assert tron_sim.trx_balance(address(BOB)) == 2 * TRX


def test_send_helpers_skip_http(tron_sim: TronSimulator) -> None:
    tron_sim.fund_trx(address(ALICE), 100 * TRX)
    tron_sim.mint(address(ALICE), 3 * USDT)
    trc20 = tron_sim.send_trc20(ALICE.hex(), address(BOB), 2 * USDT)
    trx = tron_sim.send_trx(ALICE, address(CAROL), TRX)
    head = tron_sim.mine()
    infos = post(tron_sim, "/wallet/gettransactioninfobyblocknum", {"num": head, "visible": True})
    assert [i["id"] for i in infos] == [trc20, trx]
    assert infos[0]["log"][0]["address"] == tron_sim.token_address  # base58 with visible, as java-tron
    assert tron_sim.token_balance(address(BOB)) == 2 * USDT


async def test_async_tron_transfers(tron_sim: TronSimulator) -> None:
    tron_sim.fund_trx(address(ALICE), 100 * TRX)
    tron_sim.mint(address(ALICE), 50 * USDT)
    async with AsyncTron(AsyncHTTPProvider(tron_sim.url, timeout=5)) as client:
        assert await client.get_account_balance(address(ALICE)) == Decimal(100)
        txn = await client.trx.transfer(address(ALICE), address(BOB), 3 * TRX).build()
        sent = await txn.sign(ALICE).broadcast()
        contract = await client.get_contract(tron_sim.token_address)
        assert await contract.functions.balanceOf(address(ALICE)) == 50 * USDT
        call = await contract.functions.transfer(address(BOB), 7 * USDT)
        token_txn = await call.with_owner(address(ALICE)).fee_limit(100 * TRX).build()
        token_sent = await token_txn.sign(ALICE).broadcast()
        tron_sim.mine()
        assert (await sent.wait(timeout=5, interval=0.1))["fee"] == 1_100_000
        info = await token_sent.wait(timeout=5, interval=0.1)
        assert info["receipt"]["result"] == "SUCCESS"
        assert await token_sent.result(timeout=5, interval=0.1) is True
        assert await client.get_account_balance(address(BOB)) == Decimal(3)
        assert await contract.functions.balanceOf(address(BOB)) == 7 * USDT
