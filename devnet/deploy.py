"""Deploy the escrow (and the demo token) with plain web3.py.

    w3 = connect("http://127.0.0.1:8545")
    sender = sender_from_env(w3)            # CROWDLEDGER_PRIVATE_KEY, else the node's account #0
    deployment = deploy_escrow(w3, sender, fee_recipient=sender.address)
    deployment.write("deployments/local.json")

A `Sender` is whoever signs: `NodeAccount` for an account the node holds unlocked (anvil's and
ganache's dev accounts, or any address anvil impersonates) sends with eth_sendTransaction;
`KeyAccount` signs locally with eth_account and sends the raw transaction. The key is never
written anywhere.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, cast
from urllib.parse import urlparse

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, ProviderConnectionError, TimeExhausted, Web3RPCError
from web3.types import RPCEndpoint, TxParams

from devnet.artifacts import load_artifact
from ledger.chain.deployment import Deployment
from ledger.errors import ConfigError, NodeError, NodeUnavailable

PRIVATE_KEY_ENV = "CROWDLEDGER_PRIVATE_KEY"
RECEIPT_TIMEOUT = 300.0

DEFAULT_FEE_BPS = 250
DEFAULT_UNPLEDGE_LOCK_WINDOW = 86_400


class TransactionFailed(NodeError):
    """A transaction was refused by the node, reverted, or was not mined in time."""


# ---------------------------------------------------------------------------------------------
# connecting
# ---------------------------------------------------------------------------------------------


def connect(rpc_url: str, *, timeout: float = 30.0) -> Web3:
    """A Web3 for an http(s) JSON-RPC URL that answers; otherwise a ConfigError/NodeUnavailable
    with one readable line."""
    parsed = urlparse(rpc_url or "")
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ConfigError(f"bad RPC URL {rpc_url!r}: expected http(s)://host:port")
    # web3's validation asks eth_chainId before every transaction and call: ask it once
    provider = HTTPProvider(
        rpc_url,
        request_kwargs={"timeout": timeout},
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId")},
    )
    w3 = Web3(provider)
    try:
        w3.eth.chain_id  # noqa: B018 - the call is the check
    except Exception as exc:  # noqa: BLE001 - requests/connection/JSON errors all mean the same here
        raise NodeUnavailable(f"no JSON-RPC node answers at {rpc_url}: {_connection_reason(exc)}") from None
    return w3


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if errno:
        return errno.group(1).strip().rstrip(".")
    if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        return "timed out"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:200]


def rpc_url_of(w3: Web3) -> str:
    return str(getattr(w3.provider, "endpoint_uri", "") or "")


# ---------------------------------------------------------------------------------------------
# senders
# ---------------------------------------------------------------------------------------------


class Sender(Protocol):
    """Who pays for and signs a transaction."""

    @property
    def address(self) -> str:
        """The checksummed address it sends from."""
        ...

    def send(self, w3: Web3, tx: dict[str, Any]) -> bytes:
        """Submit `tx` (already holding to/data/value and, optionally, gas); return its hash."""
        ...


@dataclass(frozen=True)
class NodeAccount:
    """An account the node signs for: unlocked dev accounts or anvil-impersonated addresses."""

    address: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", Web3.to_checksum_address(self.address))

    def send(self, w3: Web3, tx: dict[str, Any]) -> bytes:
        # Straight to eth_sendTransaction: the node fills nonce, gas price and (when absent) gas,
        # which saves web3.py's extra round trips when seeding hundreds of transactions.
        params: dict[str, Any] = {"from": self.address}
        for key, value in tx.items():
            if key == "from":
                continue
            if isinstance(value, int):
                params[key] = hex(value)
            elif isinstance(value, (bytes, bytearray)):
                params[key] = Web3.to_hex(bytes(value))
            else:
                params[key] = value
        response = w3.provider.make_request(RPCEndpoint("eth_sendTransaction"), [params])
        if "error" in response:
            error = response["error"]
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            raise ValueError(message)
        return bytes(Web3.to_bytes(hexstr=response["result"]))


@dataclass(frozen=True)
class KeyAccount:
    """An account whose key this process holds; signs locally and sends raw transactions."""

    account: LocalAccount = field(repr=False)

    @classmethod
    def from_key(cls, private_key: str | bytes) -> KeyAccount:
        try:
            return cls(Account.from_key(private_key))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"the private key is not valid: {exc}") from None

    @property
    def address(self) -> str:
        return self.account.address

    def send(self, w3: Web3, tx: dict[str, Any]) -> bytes:
        tx = {**tx, "from": self.address}
        tx.setdefault("chainId", w3.eth.chain_id)
        tx.setdefault("nonce", w3.eth.get_transaction_count(self.account.address, "pending"))
        tx.setdefault("value", 0)
        if "gas" not in tx:
            tx["gas"] = w3.eth.estimate_gas(cast(TxParams, tx))
        if "gasPrice" not in tx and "maxFeePerGas" not in tx:
            latest = w3.eth.get_block("latest")
            if latest.get("baseFeePerGas") is not None:
                tip = w3.eth.max_priority_fee
                tx["maxPriorityFeePerGas"] = tip
                tx["maxFeePerGas"] = 2 * latest["baseFeePerGas"] + tip
            else:
                tx["gasPrice"] = w3.eth.gas_price
        signed = self.account.sign_transaction(tx)
        return bytes(w3.eth.send_raw_transaction(signed.raw_transaction))


def sender_from_env(w3: Web3, *, env_var: str = PRIVATE_KEY_ENV) -> Sender:
    """KeyAccount from $CROWDLEDGER_PRIVATE_KEY if set, else the node's first unlocked account."""
    key = os.environ.get(env_var, "").strip()
    if key:
        return KeyAccount.from_key(key)
    accounts = w3.eth.accounts
    if not accounts:
        raise ConfigError(f"the node has no unlocked account; set {env_var} to the deployer's private key")
    return NodeAccount(accounts[0])


# ---------------------------------------------------------------------------------------------
# transactions
# ---------------------------------------------------------------------------------------------


def _revert_reason(exc: Exception, abi: list[dict[str, Any]] | None = None) -> str:
    """One line: the revert message, with a custom error decoded by name when `abi` has it."""
    message = str(getattr(exc, "message", None) or exc).splitlines()[0][:300]
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10 and abi:
        decoded = _decode_custom_error(abi, data)
        if decoded:
            return f"execution reverted: {decoded}"
    return message


def _decode_custom_error(abi: list[dict[str, Any]], data: str) -> str | None:
    from eth_abi.abi import decode as abi_decode

    from ledger.core.hashing import keccak256

    selector = bytes.fromhex(data[2:10])
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [i["type"] for i in item.get("inputs", [])]
        if keccak256(f"{item['name']}({','.join(types)})".encode())[:4] != selector:
            continue
        try:
            values = abi_decode(types, bytes.fromhex(data[10:]))
        except Exception:  # noqa: BLE001 - malformed data: fall back to the raw message
            return None
        shown = ", ".join(v.hex() if isinstance(v, bytes) else str(v) for v in values)
        return f"{item['name']}({shown})"
    return None


def transact(
    w3: Web3,
    sender: Sender,
    call: Any = None,
    *,
    to: str | None = None,
    value: int = 0,
    gas: int | None = None,
    data: str | bytes | None = None,
    wait: bool = True,
    what: str = "",
) -> Any:
    """Send one transaction from `sender` and (by default) return its receipt, raising
    TransactionFailed on a revert. `call` is a bound contract function
    (`contract.functions.pledge(1, 10)`); without it, `to`/`data` describe the transaction.
    With `gas=None` the node estimates it, so a reverting call fails with its reason up front.
    With `wait=False` the hash is returned instead of the receipt."""
    label = what or (getattr(call, "fn_name", None) or "transaction")
    tx: dict[str, Any] = {"value": value}
    if gas is not None:
        tx["gas"] = gas
    try:
        if call is not None:
            tx["from"] = sender.address
            if gas is None:
                tx["gas"] = call.estimate_gas({"from": sender.address, "value": value})
            tx["to"] = call.address
            tx["data"] = call._encode_transaction_data()
        else:
            if to is not None:
                tx["to"] = to
            if data is not None:
                tx["data"] = data
        tx_hash = sender.send(w3, tx)
    except ContractLogicError as exc:
        abi = getattr(call, "contract_abi", None) if call is not None else None
        raise TransactionFailed(f"{label} would revert: {_revert_reason(exc, abi)}") from None
    except (ValueError, TypeError, Web3RPCError) as exc:
        raise TransactionFailed(f"{label} was refused: {_revert_reason(exc)}") from None
    except (ProviderConnectionError, OSError) as exc:
        raise NodeUnavailable(f"{label}: the node stopped answering: {_revert_reason(exc)}") from None
    if not wait:
        return tx_hash
    return wait_receipt(w3, tx_hash, what=label)


def wait_receipt(
    w3: Web3, tx_hash: bytes, *, what: str = "transaction", timeout: float = RECEIPT_TIMEOUT
) -> Any:
    try:
        receipt = w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=timeout, poll_latency=0.05)
    except TimeExhausted:
        raise TransactionFailed(
            f"{what} ({Web3.to_hex(tx_hash)}) was not mined within {timeout:.0f}s"
        ) from None
    if receipt["status"] != 1:
        raise TransactionFailed(f"{what} ({Web3.to_hex(tx_hash)}) reverted")
    return receipt


def deploy_contract(w3: Web3, sender: Sender, name: str, *args: Any, what: str = "") -> tuple[Any, Any]:
    """Deploy build/contracts/{name}.json; returns (web3 contract, receipt)."""
    abi, bytecode = load_artifact(name)
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    data = factory.constructor(*args).data_in_transaction
    label = what or f"deploying {name}"
    try:
        gas = w3.eth.estimate_gas(cast(TxParams, {"from": sender.address, "data": data}))
    except ContractLogicError as exc:
        raise TransactionFailed(f"{label} would revert: {_revert_reason(exc, abi)}") from None
    except (ValueError, Web3RPCError) as exc:
        raise TransactionFailed(f"{label} was refused: {_revert_reason(exc)}") from None
    # estimates for contract creation can come in just under the need on some nodes
    receipt = transact(w3, sender, data=data, gas=gas + gas // 10, what=label)
    address = receipt["contractAddress"]
    if not address:
        raise TransactionFailed(f"{label}: the receipt has no contract address")
    return w3.eth.contract(address=address, abi=abi), receipt


# ---------------------------------------------------------------------------------------------
# the escrow and the demo token
# ---------------------------------------------------------------------------------------------


def escrow_contract(w3: Web3, address: str) -> Any:
    abi, _ = load_artifact("CrowdfundEscrow")
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)


def token_contract(w3: Web3, address: str, name: str = "DemoToken") -> Any:
    abi, _ = load_artifact(name)
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)


def deploy_escrow(
    w3: Web3,
    sender: Sender,
    *,
    fee_recipient: str,
    fee_bps: int = DEFAULT_FEE_BPS,
    unpledge_lock_window: int = DEFAULT_UNPLEDGE_LOCK_WINDOW,
    tokens: dict[str, str] | None = None,
    rpc_url: str | None = None,
) -> Deployment:
    """Deploy a CrowdfundEscrow owned by `sender` and describe it as a Deployment."""
    if not Web3.is_address(fee_recipient):
        raise ConfigError(f"fee recipient {fee_recipient!r} is not an address")
    if not 0 <= fee_bps <= 1000:
        raise ConfigError(f"fee_bps must be between 0 and 1000 (10%), got {fee_bps}")
    if not 0 <= unpledge_lock_window < 2**64:
        raise ConfigError(f"unpledge_lock_window out of range: {unpledge_lock_window}")
    fee_recipient = Web3.to_checksum_address(fee_recipient)
    contract, receipt = deploy_contract(
        w3,
        sender,
        "CrowdfundEscrow",
        fee_recipient,
        fee_bps,
        unpledge_lock_window,
        what="deploying CrowdfundEscrow",
    )
    return Deployment(
        address=contract.address,
        chain_id=w3.eth.chain_id,
        block=receipt["blockNumber"],
        rpc_url=rpc_url if rpc_url is not None else rpc_url_of(w3),
        block_hash=Web3.to_hex(receipt["blockHash"]),
        tx_hash=Web3.to_hex(receipt["transactionHash"]),
        fee_recipient=fee_recipient,
        fee_bps=fee_bps,
        unpledge_lock_window=unpledge_lock_window,
        tokens=dict(tokens or {}),
    )


def deploy_token(w3: Web3, sender: Sender, name: str = "DemoToken") -> Any:
    """Deploy the demo ERC-20 ("Demo USD", DUSD, 18 decimals, open mint); returns the contract."""
    contract, _ = deploy_contract(w3, sender, name)
    return contract
