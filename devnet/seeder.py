"""Sending a seed's transactions: what the node allows besides plain transactions
(`detect_capabilities`), and the `Seeder` that sends them, in blocks of many on a development node,
moves time forward and funds the demo's accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3Exception
from web3.types import RPCEndpoint

from devnet.deploy import NodeAccount, Sender, TransactionFailed, transact
from ledger.core.addresses import checksum
from ledger.core.hashing import keccak256
from ledger.errors import ConfigError

# explicit gas limits on development nodes spare an eth_estimateGas round trip per transaction
GAS = {
    "createCampaign": 300_000,
    "pledge": 250_000,
    "unpledge": 200_000,
    "cancel": 150_000,
    "claim": 250_000,
    "refund": 200_000,
    "withdrawFees": 200_000,
    "mint": 150_000,
    "approve": 100_000,
    "createMilestoneCampaign": 400_000,
    "requestRelease": 150_000,
    "vote": 150_000,
    "release": 250_000,
    "disclose": 150_000,
    "abortStale": 250_000,
    "withdrawOwed": 150_000,
    "setMode": 60_000,
    "execute": 600_000,  # SwitchableReceiver forwarding a creation, a claim or a withdrawal
}


@dataclass
class Capabilities:
    """What the node lets a seeder do besides sending transactions."""

    client: str = ""
    time_travel: bool = False  # evm_increaseTime + evm_mine
    impersonation: str | None = None  # "anvil" or "hardhat": <prefix>_setBalance/_impersonateAccount

    @property
    def development(self) -> bool:
        return self.time_travel or self.impersonation is not None


def node_rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    """One JSON-RPC call's result; the node's error as a ConfigError."""
    response = w3.provider.make_request(RPCEndpoint(method), params)
    if "error" in response:
        error = response["error"]
        raise ConfigError(
            f"{method} failed: {error.get('message', error) if isinstance(error, dict) else error}"
        )
    return response.get("result")


def _supports(w3: Web3, method: str, params: list[Any]) -> bool:
    try:
        node_rpc(w3, method, params)
        return True
    except ConfigError:  # unknown method, or any other refusal: treat as unsupported
        return False


def detect_capabilities(w3: Web3) -> Capabilities:
    """Probe the node: anvil and hardhat impersonate, any of them with evm_increaseTime travels."""
    try:
        client = str(w3.client_version)
    except (Web3Exception, ValueError):
        client = ""
    lowered = client.lower()
    impersonation = "anvil" if "anvil" in lowered else "hardhat" if "hardhat" in lowered else None
    # a zero increase is harmless, and real nodes answer "method not found"
    time_travel = _supports(w3, "evm_increaseTime", [0])
    return Capabilities(client=client, time_travel=time_travel, impersonation=impersonation)


def demo_backer_address(index: int) -> str:
    """The deterministic address of demo backer `index` (nobody holds its key)."""
    return checksum("0x" + keccak256(f"crowdledger demo backer {index}".encode())[-20:].hex())


def demo_creator_address(index: int) -> str:
    return checksum("0x" + keccak256(f"crowdledger demo creator {index}".encode())[-20:].hex())


class Seeder:
    """Sends the seed's transactions. On anvil/hardhat it turns automining off, sends the
    transactions of accounts the node signs for in JSON-RPC batches with nonces it counts itself
    (one HTTP request for up to CHUNK of them, instead of one each), and mines them in blocks of
    up to CHUNK (a few minutes of simulated time apart), which makes seeding hundreds of backers
    quick; elsewhere it sends one at a time.

    `send` returns a ticket; `receipt(ticket)` mines what is pending and gives that transaction's
    receipt. Transactions sent between two mines must not depend on each other unless they come
    from one account (its nonces keep them in order): the seeding mines between dependent steps."""

    CHUNK = 40

    def __init__(self, w3: Web3, sender: Sender, caps: Capabilities) -> None:
        self.w3 = w3
        self.sender = sender
        self.caps = caps
        self.fast = caps.development  # explicit gas limits instead of estimates
        self.batching = False
        self.queue: list[tuple[int, dict[str, Any], str, Any, Sender, int]] = []  # not sent yet
        self.pending: list[tuple[bytes, str, Any, Sender, int]] = []  # sent, not mined
        self.hashes: list[bytes] = []  # by ticket
        self.nonces: dict[str, int] = {}  # the next nonce of each account sending in batches
        self.receipts: dict[bytes, Any] = {}
        self.transactions = 0
        self.first_block = 0
        self.simulated = 0
        self.chunk_seconds = 0  # simulated time between two blocks of a batch

    # -- batching ----------------------------------------------------------------------------

    def start_batching(self) -> None:
        prefix = self.caps.impersonation
        if prefix is None:
            return
        try:  # leave a node that mines on an interval alone
            automine = node_rpc(self.w3, f"{prefix}_getAutomine", [])
        except ConfigError:
            return
        if automine:
            node_rpc(self.w3, "evm_setAutomine", [False])
            self.batching = True

    def stop_batching(self) -> None:
        if self.batching:
            try:
                self.flush()
            finally:
                node_rpc(self.w3, "evm_setAutomine", [True])
                self.batching = False

    def send(self, who: Sender, call: Any, value: int = 0) -> int:
        """Send one transaction (a ticket for `receipt`); in batch mode it is sent and mined by
        the next flush()."""
        label = f"{call.fn_name}{tuple(call.args)}"
        gas = GAS.get(call.fn_name) if self.fast else None
        ticket = len(self.hashes)
        if not self.batching:
            try:
                receipt = transact(self.w3, who, call, value=value, gas=gas, what=label)
            except TransactionFailed as exc:
                raise TransactionFailed(f"{exc}{self._reason(who, call, value) if gas else ''}") from None
            self._mined(receipt)
            self.hashes.append(bytes(receipt["transactionHash"]))
            return ticket
        tx: dict[str, Any] = {"to": call.address, "data": call._encode_transaction_data(), "value": value}
        if gas is not None:
            tx["gas"] = gas
        self.hashes.append(b"")
        if isinstance(who, NodeAccount):  # the node signs: batched, with the nonces counted here
            tx = {"from": who.address, **{k: hex(v) if isinstance(v, int) else v for k, v in tx.items()}}
            tx["nonce"] = hex(self._next_nonce(who.address))
            self.queue.append((ticket, tx, label, call, who, value))
        else:  # a key this process holds signs it now
            try:
                self.hashes[ticket] = who.send(self.w3, tx)
            except ValueError as exc:
                raise TransactionFailed(f"{label} was refused: {str(exc).splitlines()[0][:300]}") from None
            self.pending.append((self.hashes[ticket], label, call, who, value))
        if len(self.queue) + len(self.pending) >= self.CHUNK:
            self.flush(advance=True)
        return ticket

    def _next_nonce(self, address: str) -> int:
        if address not in self.nonces:
            self.nonces[address] = int(node_rpc(self.w3, "eth_getTransactionCount", [address, "pending"]), 16)
        self.nonces[address] += 1
        return self.nonces[address] - 1

    def _send_queue(self) -> None:
        """The queued transactions in one JSON-RPC batch; the first refusal raises, naming its call."""
        queue, self.queue = self.queue, []
        if not queue:
            return
        requests = [(RPCEndpoint("eth_sendTransaction"), [tx]) for _, tx, *_ in queue]
        provider = self.w3.provider
        if isinstance(provider, HTTPProvider):
            answers: Any = provider.make_batch_request(requests)
        else:  # a provider without batches: one request each
            answers = [provider.make_request(method, params) for method, params in requests]
        if not isinstance(answers, list) or len(answers) != len(queue):
            self.nonces.clear()
            raise TransactionFailed(
                f"the node refused a batch of {len(queue)} transactions: {answers!r:.300}"
            )
        for (ticket, _, label, call, who, value), answer in zip(queue, answers):
            if "error" in answer:
                self.nonces.clear()  # the node may hold some of them: count again from its own
                error = answer["error"]
                message = error.get("message", error) if isinstance(error, dict) else error
                raise TransactionFailed(f"{label} was refused: {str(message).splitlines()[0][:300]}")
            self.hashes[ticket] = bytes(HexBytes(answer["result"]))
            self.pending.append((self.hashes[ticket], label, call, who, value))

    def flush(self, *, advance: bool = False) -> None:
        """Send what is queued, then mine until every pending transaction has a receipt; raise on
        the first revert. With `advance`, the block comes `chunk_seconds` after the previous one."""
        self._send_queue()
        pending, self.pending = self.pending, []
        if advance and self.chunk_seconds and pending:
            node_rpc(self.w3, "evm_increaseTime", [self.chunk_seconds])
            self.simulated += self.chunk_seconds
        waiting = {h for h, *_ in pending}
        for _ in range(len(pending) + 5):
            if not waiting:
                break
            before = int(self.w3.eth.block_number)
            node_rpc(self.w3, "evm_mine", [])
            for number in range(before + 1, int(self.w3.eth.block_number) + 1):
                for receipt in self._block_receipts(number):
                    tx_hash = bytes(HexBytes(receipt["transactionHash"]))
                    self.receipts[tx_hash] = receipt
                    waiting.discard(tx_hash)
        if waiting:
            raise TransactionFailed(f"{len(waiting)} seed transactions were not mined")
        for tx_hash, label, call, who, value in pending:
            receipt = self.receipts[tx_hash]
            if int(receipt["status"], 16) != 1:
                raise TransactionFailed(f"{label} reverted{self._reason(who, call, value)}")
            self._mined({"blockNumber": int(receipt["blockNumber"], 16)})

    def mine_pending(self) -> None:
        """In batch mode, mine what is pending now (the next step reads its effects)."""
        if self.batching:
            self.flush()

    def receipt(self, ticket: int) -> Any:
        """The receipt of the transaction `send` gave this ticket for, once mined."""
        self.mine_pending()
        return self.w3.eth.get_transaction_receipt(HexBytes(self.hashes[ticket]))

    def _block_receipts(self, number: int) -> list[dict[str, Any]]:
        try:
            return list(node_rpc(self.w3, "eth_getBlockReceipts", [hex(number)]) or [])
        except ConfigError:
            block = self.w3.eth.get_block(number)
            hashes = [h for h in block["transactions"] if isinstance(h, bytes)]  # not full transactions
            return [node_rpc(self.w3, "eth_getTransactionReceipt", [HexBytes(h).to_0x_hex()]) for h in hashes]

    def _mined(self, receipt: Any) -> None:
        self.transactions += 1
        if not self.first_block:
            self.first_block = int(receipt["blockNumber"])

    def _reason(self, who: Sender, call: Any, value: int) -> str:
        """Why a call reverts (re-run on the latest state): the receipt alone does not say."""
        try:
            call.call({"from": who.address, "value": value})
        except Exception as reason:  # noqa: BLE001 - the reason is all we want from it
            return ": " + str(reason).splitlines()[0][:300]
        return ""

    # -- time and accounts -------------------------------------------------------------------

    def travel(self, seconds: int) -> None:
        self.mine_pending()
        node_rpc(self.w3, "evm_increaseTime", [int(seconds)])
        node_rpc(self.w3, "evm_mine", [])
        self.simulated += int(seconds)

    def now(self) -> int:
        self.mine_pending()
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def fund(self, address: str, wei: int) -> None:
        prefix = self.caps.impersonation
        node_rpc(self.w3, f"{prefix}_setBalance", [address, hex(wei)])
        node_rpc(self.w3, f"{prefix}_impersonateAccount", [address])

    def accounts(
        self, wanted: int, eth_each: int, use_unlocked: bool
    ) -> tuple[list[Sender], list[Sender], list[str]]:
        """(creators, backers, notes)."""
        notes: list[str] = []
        if self.caps.impersonation:
            creators: list[Sender] = [NodeAccount(demo_creator_address(i)) for i in range(3)]
            backers: list[Sender] = [NodeAccount(demo_backer_address(i)) for i in range(wanted)]
            for account in creators + backers:
                self.fund(account.address, eth_each)
            return creators, backers, notes
        unlocked = (
            [a for a in self._unlocked() if a.lower() != self.sender.address.lower()] if use_unlocked else []
        )
        if unlocked:
            backers = [NodeAccount(a) for a in unlocked[:wanted]]
            if len(backers) < wanted:
                notes.append(
                    f"{wanted - len(backers)} of {wanted} backers: the node has only "
                    f"{len(unlocked)} other unlocked accounts and no impersonation"
                )
            return [self.sender], backers, notes
        notes.append(
            f"{wanted} distinct backers: the node cannot impersonate accounts, so the sender backs its own campaigns"
        )
        return [self.sender], [self.sender], notes

    def _unlocked(self) -> list[str]:
        try:
            return list(self.w3.eth.accounts)
        except (Web3Exception, ValueError):  # a provider that refuses eth_accounts has none
            return []
