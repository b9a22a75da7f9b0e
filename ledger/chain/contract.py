"""Read the escrow's views with eth_call at a chosen block (audit and verify compare them with
the ledger; the indexer uses them to check an address really is a CrowdfundEscrow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.chain.rpc import RpcClient
from ledger.core.hashing import keccak256
from ledger.errors import NodeError, NotAnEscrowError, RpcError

BlockId = int | str


def encode(types: list[str], values: list[Any]) -> bytes:
    """ABI-encoded `values` (eth_abi, imported when first needed: a command with nothing to do
    never pays for it)."""
    from eth_abi.abi import encode as abi_encode

    return abi_encode(types, values)


def decode(types: list[str], data: bytes) -> Any:
    """ABI-decoded `data`; an answer that does not decode is the node's error (NodeError)."""
    from eth_abi.abi import decode as abi_decode
    from eth_abi.exceptions import DecodingError

    try:
        return abi_decode(types, data)
    except DecodingError as exc:
        raise NodeError(f"the node's answer to an eth_call does not decode as {types}: {exc}") from None


def _selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


_LEDGER_HEAD = _selector("ledgerHead()")
_LEDGER_LENGTH = _selector("ledgerLength()")
_CAMPAIGN_COUNT = _selector("campaignCount()")
_GET_CAMPAIGN = _selector("getCampaign(uint256)")
_CAMPAIGN_STATE = _selector("campaignState(uint256)")
_PLEDGE_OF = _selector("pledgeOf(uint256,address)")
_ACCRUED_FEES = _selector("accruedFees(address)")
_OWED = _selector("owed(address,address)")
_FEE_RECIPIENT = _selector("feeRecipient()")
_BALANCE_OF = _selector("balanceOf(address)")
_CAMPAIGN_TUPLE = "(address,address,uint256,uint64,uint256,bool,uint16,uint256,bool,bool)"
_GET_MILESTONES = _selector("getMilestones(uint256)")
_MILESTONES_TUPLE = (
    "(uint16[],uint64,uint256,uint256,uint256,bool,uint256,bytes32,uint64,uint256,uint256,bool,uint256,uint256,"
    "uint256,uint256)"
)


@dataclass(frozen=True, slots=True)
class OnChainCampaign:
    """getCampaign() as the contract returns it."""

    creator: str
    token: str
    goal: int
    deadline: int
    max_per_backer: int
    keep_it_all: bool
    fee_bps: int
    pledged: int
    claimed: bool
    cancelled: bool


@dataclass(frozen=True, slots=True)
class OnChainMilestones:
    """getMilestones() as the contract returns it (ICrowdfundEscrow.Milestones)."""

    tranche_bps: tuple[int, ...]
    voting_period: int
    tranches_released: int
    released_amount: int  # gross, fees included
    next_tranche_amount: int
    vote_pending: bool
    vote_tranche: int
    report_hash: str
    vote_end: int
    approve_weight: int
    reject_weight: int
    aborted: bool
    abort_remaining: int
    refunded: int
    unrefunded_weight: int
    dust: int

    @classmethod
    def from_abi(cls, values: Any) -> OnChainMilestones:
        bps, period, released, amount, nxt, pending, tranche, report, *rest = values
        return cls(tuple(bps), period, released, amount, nxt, pending, tranche, "0x" + report.hex(), *rest)


class EscrowReader:
    """Typed eth_calls to one CrowdfundEscrow."""

    def __init__(self, rpc: RpcClient, address: str) -> None:
        self.rpc = rpc
        self.address = address

    def _call(self, data: bytes, block: BlockId, types: list[str]) -> Any:
        raw = self.rpc.eth_call(self.address, data, block)
        return decode(types, raw)

    def ledger_head(self, block: BlockId = "latest") -> str:
        head: bytes = self._call(_LEDGER_HEAD, block, ["bytes32"])[0]
        return "0x" + head.hex()

    def ledger_length(self, block: BlockId = "latest") -> int:
        return int(self._call(_LEDGER_LENGTH, block, ["uint64"])[0])

    def campaign_count(self, block: BlockId = "latest") -> int:
        return int(self._call(_CAMPAIGN_COUNT, block, ["uint256"])[0])

    def get_campaign(self, campaign_id: int, block: BlockId = "latest") -> OnChainCampaign:
        (values,) = self._call(_GET_CAMPAIGN + encode(["uint256"], [campaign_id]), block, [_CAMPAIGN_TUPLE])
        creator, token, *rest = values
        return OnChainCampaign(creator.lower(), token.lower(), *rest)

    def campaign_state(self, campaign_id: int, block: BlockId = "latest") -> int:
        return int(self._call(_CAMPAIGN_STATE + encode(["uint256"], [campaign_id]), block, ["uint8"])[0])

    def get_milestones(self, campaign_id: int, block: BlockId = "latest") -> OnChainMilestones:
        """getMilestones(); reverts (RpcError) for a campaign that is not a milestone campaign."""
        data = _GET_MILESTONES + encode(["uint256"], [campaign_id])
        return OnChainMilestones.from_abi(self._call(data, block, [_MILESTONES_TUPLE])[0])

    def pledge_of(self, campaign_id: int, backer: str, block: BlockId = "latest") -> int:
        data = _PLEDGE_OF + encode(["uint256", "address"], [campaign_id, backer])
        return int(self._call(data, block, ["uint256"])[0])

    def accrued_fees(self, token: str, block: BlockId = "latest") -> int:
        return int(self._call(_ACCRUED_FEES + encode(["address"], [token]), block, ["uint256"])[0])

    def fee_recipient(self, block: BlockId = "latest") -> str:
        return str(self._call(_FEE_RECIPIENT, block, ["address"])[0]).lower()

    # ------------------------------------------------------------- batched, for audits

    def _batch(self, to: str, datas: list[bytes], block: int, types: list[str]) -> list[Any]:
        tag = hex(block)
        calls = [("eth_call", [{"to": to, "data": "0x" + d.hex()}, tag]) for d in datas]
        return [decode(types, bytes.fromhex(raw[2:])) for raw in self.rpc.batch(calls)]

    def campaigns_at(self, campaign_ids: list[int], block: int) -> dict[int, tuple[OnChainCampaign, int]]:
        """getCampaign and campaignState of each id at `block`."""
        ids = [encode(["uint256"], [i]) for i in campaign_ids]
        views = self._batch(self.address, [_GET_CAMPAIGN + a for a in ids], block, [_CAMPAIGN_TUPLE])
        states = self._batch(self.address, [_CAMPAIGN_STATE + a for a in ids], block, ["uint8"])
        result = {}
        for campaign_id, (values,), (state,) in zip(campaign_ids, views, states):
            creator, token, *rest = values
            result[campaign_id] = (OnChainCampaign(creator.lower(), token.lower(), *rest), int(state))
        return result

    def milestones_at(self, campaign_ids: list[int], block: int) -> dict[int, OnChainMilestones]:
        """getMilestones of each (milestone) campaign id at `block`."""
        datas = [_GET_MILESTONES + encode(["uint256"], [i]) for i in campaign_ids]
        views = self._batch(self.address, datas, block, [_MILESTONES_TUPLE]) if datas else []
        return {i: OnChainMilestones.from_abi(v[0]) for i, v in zip(campaign_ids, views)}

    def pledges_at(self, keys: list[tuple[int, str]], block: int) -> dict[tuple[int, str], int]:
        """pledgeOf(campaign, backer) for each key at `block`."""
        datas = [_PLEDGE_OF + encode(["uint256", "address"], [c, b]) for c, b in keys]
        return {key: int(v[0]) for key, v in zip(keys, self._batch(self.address, datas, block, ["uint256"]))}

    def owed_at(self, keys: list[tuple[str, str]], block: int) -> dict[tuple[str, str], int]:
        """owed(account, token) for each (account, token) at `block`."""
        datas = [_OWED + encode(["address", "address"], [a, t]) for a, t in keys]
        values = self._batch(self.address, datas, block, ["uint256"]) if datas else []
        return {key: int(v[0]) for key, v in zip(keys, values)}

    def accrued_fees_at(self, tokens: list[str], block: int) -> dict[str, int]:
        datas = [_ACCRUED_FEES + encode(["address"], [t]) for t in tokens]
        return {t: int(v[0]) for t, v in zip(tokens, self._batch(self.address, datas, block, ["uint256"]))}

    def asset_balance(self, token: str, block: int) -> int:
        """The escrow's balance of `token` (the zero address for ETH) at `block`."""
        if int(token, 16) == 0:
            return self.rpc.get_balance(self.address, block)
        raw = self.rpc.eth_call(token, _BALANCE_OF + encode(["address"], [self.address]), block)
        return int(decode(["uint256"], raw)[0])

    def deployment_block(self, upto: int) -> int | None:
        """The first block at which the escrow has code (a binary search over eth_getCode, some
        25 calls); None when the node cannot say (it keeps no old state, or has no code there)."""
        try:
            if not self.rpc.get_code(self.address, upto):
                return None
            low, high = 0, upto
            while low < high:
                middle = (low + high) // 2
                if self.rpc.get_code(self.address, middle):
                    high = middle
                else:
                    low = middle + 1
        except NodeError:
            return None
        return low

    def check_is_escrow(self, block: BlockId = "latest") -> None:
        """Raise NotAnEscrowError unless `address` answers like a CrowdfundEscrow at `block`."""
        if not self.rpc.get_code(self.address, block):
            raise NotAnEscrowError(f"no contract at {self.address} (at block {block}); check --contract")
        try:
            raw_head = self.rpc.eth_call(self.address, _LEDGER_HEAD, block)
            raw_length = self.rpc.eth_call(self.address, _LEDGER_LENGTH, block)
        except RpcError as exc:
            if exc.code == 3 or "revert" in exc.message.lower():
                raise NotAnEscrowError(
                    f"{self.address} is a contract but not a CrowdfundEscrow: ledgerHead() reverted"
                ) from None
            raise NodeError(f"the node could not run eth_call on {self.address}: {exc.message}") from None
        if len(raw_head) != 32 or len(raw_length) != 32 or int.from_bytes(raw_length, "big") >= 2**64:
            raise NotAnEscrowError(
                f"{self.address} is a contract but not a CrowdfundEscrow: ledgerHead()/ledgerLength() "
                "did not answer as one"
            )
