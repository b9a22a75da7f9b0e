"""Token metadata (issue 20): each campaign token's symbol(), name() and decimals() read from the
chain once, decoded whether the token answers strings or bytes32 (as MKR does), cleaned of
control characters and capped, and assumed (short address, 18 decimals) when the token cannot
answer; stored with the batch that creates the token's first campaign, on both databases."""

from __future__ import annotations

import pytest
from eth_abi import encode
from web3 import Web3

import ledger.sync.token_metadata as token_metadata
from ledger.chain.rpc import RpcClient
from ledger.chain.tokens import decimals_of, read_tokens, text_of, token_of
from ledger.core.amounts import asset_labels, asset_of, format_amount, short_address
from ledger.core.metadata import ETHER, Token
from ledger.core.records import ETH
from ledger.db.store import LedgerStore
from ledger.errors import RpcError
from ledger.sync.indexer import Indexer
from tests.support.chain import METADATA, EscrowChain

ADDRESS = "0x" + "7a" * 20


def hexed(data: bytes) -> str:
    return "0x" + data.hex()


def string(text: str | bytes) -> str:
    return hexed(encode(["string" if isinstance(text, str) else "bytes"], [text]))


def word(value: int | bytes) -> str:
    return hexed(value.ljust(32, b"\0") if isinstance(value, bytes) else value.to_bytes(32, "big"))


REVERT = RpcError("eth_call", 3, "execution reverted")


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((string("tUSDC"), string("Test USD Coin"), word(6)), ("tUSDC", "Test USD Coin", 6, False)),
        ((word(b"MKR"), word(b"Maker"), word(18)), ("MKR", "Maker", 18, False)),  # bytes32 answers
        ((REVERT, REVERT, REVERT), (short_address(ADDRESS), short_address(ADDRESS), 18, True)),
        (("0x", "0x", "0x"), (short_address(ADDRESS), short_address(ADDRESS), 18, True)),  # no code
        (
            (string("US\x00DC\x07 \u202ewith a long tail"), REVERT, word(6)),
            ("USDC with a long", "USDC with a long", 6, False),
        ),
        ((string("ok"), string("n" * 300), word(78)), ("ok", "n" * 64, 18, True)),  # beyond 77 decimals
        (
            (string("\x00\x01"), string("Name"), word(2)),
            (short_address(ADDRESS), "Name", 2, True),
        ),  # empty once cleaned
        (
            (string(b"\xff\xfe"), "0xzz", word(2**255)),
            (short_address(ADDRESS), short_address(ADDRESS), 18, True),
        ),
        (
            (hexed(b"\x00" * 31 + b"\x20" + b"\x00" * 31 + b"\xff"), string("x"), word(0)),
            (short_address(ADDRESS), "x", 0, True),
        ),
    ],
)
def test_a_tokens_answers_become_its_metadata(answers: tuple, expected: tuple) -> None:
    token = token_of(ADDRESS, 7, *answers)
    assert (token.symbol, token.name, token.decimals, token.assumed) == expected
    assert token.read_block == 7 and len(token.symbol) <= 16 and token.symbol.isprintable()


def test_text_and_decimals_decoding_bounds() -> None:
    assert text_of(None, 16) is None and decimals_of(None) is None
    assert text_of(bytes.fromhex(string("a" * 2000)[2:]), 16) is None  # over 1 KiB: garbage
    bad_offset = bytearray(bytes.fromhex(string("abc")[2:]))
    bad_offset[31] = 0x21
    assert text_of(bytes(bad_offset), 16) is None
    assert decimals_of(bytes(31)) is None and decimals_of((77).to_bytes(32, "big")) == 77


def test_amounts_for_people() -> None:
    assert format_amount(1_000 * 10**6, 6, "tUSDC") == "1,000 tUSDC"
    assert format_amount(25 * 10**16, 18, "ETH") == "0.25 ETH"
    assert format_amount(1_980_000_000_000_000_000, 18, "ETH") == "1.98 ETH"
    assert format_amount(561_396_250_000_000_000_000, 18, "ETH") == "561.39625 ETH"
    assert format_amount(2**256 - 1, 0, "X") == f"{2**256 - 1:,} X"
    assert format_amount(0, 6, "tUSDC") == "0 tUSDC"
    assert format_amount(7, 18, "ETH", places=6) == "<0.000001 ETH"
    assert format_amount(12_581_250, 6, "tUSDC", places=4) == "12.5812 tUSDC"  # cut, never rounded up
    assert format_amount(1, 0, "WEI", places=4) == "1 WEI"
    usdc = Token("0x" + "aa" * 20, "tUSDC", "Test USD", 6, False, 1)
    fake = Token("0x" + "bb" * 20, "eth", "Not Ether", 18, False, 1)
    twin = Token("0x" + "cc" * 20, "tUSDC", "Another", 6, False, 1)
    labels = asset_labels([usdc, fake])
    assert labels == {ETH: "ETH", usdc.address: "tUSDC", fake.address: f"eth ({short_address(fake.address)})"}
    assert asset_labels([usdc, twin])[twin.address].startswith("tUSDC (0x")
    assert asset_of(ETH, {}) is ETHER and asset_of(usdc.address, {usdc.address: usdc}) == usdc
    assert asset_of(twin.address, {}).assumed


# ------------------------------------------------------------------------------------ on a node

SELECTORS = {"decimals": "313ce567", "symbol": "95d89b41", "name": "06fdde03"}


def constant_token_code(symbol: bytes, decimals: int) -> str:
    """Runtime code answering decimals() with `decimals` and symbol() and name() with the bytes32
    `symbol` (as MKR does), and reverting anything else."""

    def returns_word(value: bytes) -> bytes:  # PUSH32 value, MSTORE at 0, RETURN 32 bytes
        return bytes.fromhex("7f") + value.ljust(32, b"\0") + bytes.fromhex("60005260206000f3")

    dec = bytes.fromhex("5b") + returns_word(decimals.to_bytes(32, "big"))
    sym = bytes.fromhex("5b") + returns_word(symbol)
    head_len = 6 + 3 * 11 + 4
    jumps = b""
    for name, dest in (
        ("decimals", head_len),
        ("symbol", head_len + len(dec)),
        ("name", head_len + len(dec)),
    ):
        jumps += (
            bytes.fromhex("8063" + SELECTORS[name] + "1461") + dest.to_bytes(2, "big") + bytes.fromhex("57")
        )
    code = bytes.fromhex("60003560e01c") + jumps + bytes.fromhex("600080fd") + dec + sym
    return "0x" + code.hex()


def test_the_indexer_reads_each_token_once_with_its_first_campaign(
    chain: EscrowChain, store: LedgerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    maker = Web3.to_checksum_address("0x" + "4d" * 20)
    chain.rpc("anvil_setCode", [maker, constant_token_code(b"MKR", 6)])
    hostile = chain.deploy("MockERC20", "Evil\u202e Name\x00", "US\x00DC\x07 with a long tail")
    not_a_token = chain.deploy("SwitchableReceiver")
    for token in (maker, hostile.address, not_a_token.address, chain.token.address, maker, ETH):
        chain.send(
            1, chain.escrow.functions.createCampaign(token, 10**18, chain.now() + 3600, 0, False, METADATA)
        )
    reads: list[list[tuple[str, int]]] = []
    real = token_metadata.read_tokens

    def counted(rpc: RpcClient, wanted: list[tuple[str, int]]) -> list[Token]:
        reads.append(list(wanted))
        return real(rpc, wanted)

    monkeypatch.setattr(token_metadata, "read_tokens", counted)
    indexer = Indexer(
        RpcClient(chain.url), store, chain.address, start_block=chain.deployment.block, finality_depth=0
    )
    indexer.run()
    got = store.tokens()
    assert sorted(token for batch in reads for token, _ in batch) == sorted(got)  # each token read once
    assert (got[maker.lower()].symbol, got[maker.lower()].decimals, got[maker.lower()].assumed) == (
        "MKR",
        6,
        False,
    )
    assert (got[hostile.address.lower()].symbol, got[hostile.address.lower()].name) == (
        "USDC with a long",
        "Evil Name",
    )
    odd = got[not_a_token.address.lower()]
    assert (odd.symbol, odd.decimals, odd.assumed) == (short_address(not_a_token.address), 18, True)
    assert got[chain.token.address.lower()].symbol == "DUSD" and ETH not in got

    chain.send(
        1, chain.escrow.functions.createCampaign(maker, 10**18, chain.now() + 3600, 0, False, METADATA)
    )
    reads.clear()
    indexer.sync_once()
    assert reads == []  # a known token is not read again

    with store.engine.begin() as conn:  # a database indexed before tokens were read
        conn.exec_driver_sql("DELETE FROM tokens")
    Indexer(
        RpcClient(chain.url), store, chain.address, start_block=chain.deployment.block, finality_depth=0
    ).run()
    assert store.tokens() == got


def test_read_tokens_reads_at_the_given_block(chain: EscrowChain) -> None:
    rpc = RpcClient(chain.url)
    block = chain.w3.eth.block_number
    later = chain.deploy("MockERC20", "Later", "LTR")
    assert read_tokens(rpc, [(later.address.lower(), block)])[0].assumed  # no code yet at that block
    assert read_tokens(rpc, [(later.address.lower(), block + 1)])[0].symbol == "LTR"
    assert read_tokens(rpc, []) == []
