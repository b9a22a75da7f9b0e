"""The Ethereum methods the indexer and the auditor call, each answer checked and typed, on top of
a JSON-RPC transport's `call` and `batch` (ledger.chain.rpc.RpcClient mixes this in)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ledger.chain.answers import BlockHeader, RawLog, decode_logs_answer, header_of
from ledger.errors import ConfigError, NodeError

__all__ = ["EthMethods", "block_tag"]


def block_tag(block: int | str) -> str:
    """A block number as the hex quantity JSON-RPC takes, or a tag ("latest", ...) as it is."""
    if isinstance(block, bool):
        raise ConfigError(f"not a block number or tag: {block!r}")
    if isinstance(block, int):
        if block < 0:
            raise ConfigError(f"block number must not be negative, got {block}")
        return hex(block)
    if isinstance(block, str) and block:
        return block
    raise ConfigError(f"not a block number or tag: {block!r}")


def _is_block_hash(block: int | str) -> bool:
    return isinstance(block, str) and len(block) == 66 and block[:2].lower() == "0x"


class EthMethods:
    """Typed eth_* calls. The class that mixes this in provides `call`, `batch` and
    `_display_url` (the node's URL without credentials, for messages)."""

    _display_url: str
    call: Callable[..., Any]
    batch: Callable[..., list[Any]]

    def _quantity(self, method: str, value: Any) -> int:
        try:
            return int(value, 16)
        except (TypeError, ValueError):
            raise NodeError(
                f"{method} to {self._display_url}: expected a hex quantity, got {value!r:.80}"
            ) from None

    def _data(self, method: str, value: Any) -> bytes:
        try:
            if not value.startswith(("0x", "0X")):
                raise ValueError
            return bytes.fromhex(value[2:])
        except (AttributeError, TypeError, ValueError):
            raise NodeError(
                f"{method} to {self._display_url}: expected hex data, got {value!r:.80}"
            ) from None

    def chain_id(self) -> int:
        return self._quantity("eth_chainId", self.call("eth_chainId"))

    def block_number(self) -> int:
        return self._quantity("eth_blockNumber", self.call("eth_blockNumber"))

    def get_block(self, block: int | str) -> BlockHeader | None:
        """The block's header (checked); None if the node has no such block. `block` is a number,
        a tag ("latest", "finalized", ...) or a 32-byte block hash."""
        if _is_block_hash(block):
            return header_of(self.call("eth_getBlockByHash", [block, False]))
        return header_of(self.call("eth_getBlockByNumber", [block_tag(block), False]))

    def require_block(self, block: int | str) -> BlockHeader:
        """get_block, where the block must exist: NodeError if the node has no such block."""
        header = self.get_block(block)
        if header is None:
            raise NodeError(f"the node has no block {block}")
        return header

    def get_blocks(self, numbers: Sequence[int]) -> list[BlockHeader | None]:
        """The headers of `numbers` in batched exchanges, in the same order, each checked and each
        the block asked for. A block the node does not have (above a head that moved back) comes
        back as None."""
        headers = [
            header_of(h)
            for h in self.batch([("eth_getBlockByNumber", [block_tag(n), False]) for n in numbers])
        ]
        for number, header in zip(numbers, headers):
            if header is not None and header.number != number:
                raise NodeError(
                    f"asked for block {number}, the node answered the header of block {header.number}"
                )
        return headers

    def get_logs(
        self, address: str, from_block: int, to_block: int, topics: list[Any] | None = None
    ) -> list[RawLog]:
        """The logs of `address` in [from_block, to_block], in the node's (block, logIndex) order,
        decoded and format-checked (ledger.chain.answers.RawLog)."""
        query: dict[str, Any] = {
            "address": address,
            "fromBlock": block_tag(from_block),
            "toBlock": block_tag(to_block),
        }
        if topics is not None:
            query["topics"] = topics
        logs: list[RawLog] = self.call("eth_getLogs", [query], parse=decode_logs_answer)
        return logs

    def eth_call(self, to: str, data: bytes | str, block: int | str = "latest") -> bytes:
        payload = data if isinstance(data, str) else "0x" + bytes(data).hex()
        return self._data("eth_call", self.call("eth_call", [{"to": to, "data": payload}, block_tag(block)]))

    def get_code(self, address: str, block: int | str = "latest") -> bytes:
        return self._data("eth_getCode", self.call("eth_getCode", [address, block_tag(block)]))

    def get_balance(self, address: str, block: int | str = "latest") -> int:
        return self._quantity("eth_getBalance", self.call("eth_getBalance", [address, block_tag(block)]))

    def get_transaction(self, tx_hash: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.call("eth_getTransactionByHash", [tx_hash])
        return found

    def get_transaction_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.call("eth_getTransactionReceipt", [tx_hash])
        return found
