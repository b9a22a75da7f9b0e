"""A second history for the page's tests, built on its own chain: what issue 20 and issue 18 ask
the page to show truthfully.

Settled first, then 181 days of chain time pass (the claim window and the silence limit), then
the live campaigns are created so the jump does not end them:

expired     a plain ETH campaign that met its goal and was never claimed: Expired (state 7);
            backer 3 refunded, backer 2 still holds
stale       a milestone ETH campaign whose creator claimed tranche 1 (index 0) and then asked for
            nothing: aborted by anyone after 180 days (kind 16); backer 4 refunded its share
credited    a token campaign whose creator the token blocks: the claim's payout is credited to the
            creator (kind 14), who has not withdrawn it
usdc        a 6-decimal stablecoin ("tUSDC") campaign still funding: 370.75 of 1,000 tUSDC
fake_eth    a token whose symbol is "ETH": the page must not pass it off as ether
hostile     a token whose symbol and name carry control characters, markup and a bidi override
documented  an ETH campaign whose metadata document (JSON with a title, a summary, a description
            with markup in it, a website and a picture) is published, with one disclosure
            published and one not
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from devnet.deploy import NodeAccount, deploy_contract
from ledger.core.hashing import keccak256
from tests.support.chain import EscrowChain
from tests.web.tokens import deploy_token

ETHER = 10**18
DAY = 86400
USDC = 10**6

HOSTILE_SYMBOL = "\u202eDSU\u0007<img src=x onerror=alert(1)>LONGSYMBOL"
HOSTILE_NAME = "Evil\nToken\u0000 <b>bold</b>"
TITLE = "Solar kiosk\u0000 for the\u202e village <script>alert(1)</script>"
SHOWN_TITLE = "Solar kiosk for the village <script>alert(1)</script>"  # the page's cleanLine(TITLE)
SUMMARY = "A solar-powered phone-charging kiosk for the village square."
DESCRIPTION = (
    "We will build a kiosk with four panels and twelve charging sockets.\n\n"
    "Money goes to panels, a battery and a lockable cabinet. <img src=x onerror=alert(2)> is text here."
)
WEBSITE = "https://example.org/solar-kiosk"


def png(width: int = 24, height: int = 16, rgb: tuple[int, int, int] = (30, 58, 138)) -> bytes:
    """A small solid-colour PNG, built by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def hex32(data: bytes) -> str:
    return "0x" + keccak256(data).hex()


@dataclass
class World:
    chain: EscrowChain
    ids: dict[str, int]
    tokens: dict[str, Any]
    documents: dict[str, bytes] = field(default_factory=dict)  # hash -> bytes, to publish
    unpublished: str = ""  # a disclosure hash whose document nobody publishes
    creator_credited: int = 6  # the account index of the blocked creator


def create(
    chain: EscrowChain,
    creator: int,
    token: str,
    goal: int,
    duration: int,
    metadata: bytes,
    keep_it_all: bool = False,
) -> int:
    receipt = chain.send(
        creator,
        chain.escrow.functions.createCampaign(
            Web3.to_checksum_address(token), goal, chain.now() + duration, 0, keep_it_all, metadata
        ),
    )
    return int(chain.escrow.events.CampaignCreated().process_receipt(receipt)[0]["args"]["campaignId"])


def build_world(chain: EscrowChain) -> World:
    eth = "0x" + "00" * 20
    ids: dict[str, int] = {}
    # ---- the settled past
    ids["expired"] = chain.create(1, goal=ETHER, duration=900)
    chain.pledge(ids["expired"], 2, 6 * ETHER // 10)
    chain.pledge(ids["expired"], 3, 5 * ETHER // 10)
    ids["stale"] = chain.create_milestone(1, goal=ETHER, duration=900, tranche_bps=(4000, 3000, 3000))
    chain.pledge(ids["stale"], 2, 7 * ETHER // 10)
    chain.pledge(ids["stale"], 4, 5 * ETHER // 10)
    blocked, _ = deploy_contract(chain.w3, NodeAccount(chain.accounts[0]), "BlocklistToken")
    chain.send(0, blocked.functions.mint(chain.accounts[5], 1000 * ETHER), gas=100_000)
    chain.send(5, blocked.functions.approve(chain.address, 2**256 - 1), gas=100_000)
    ids["credited"] = chain.create(6, goal=100 * ETHER, duration=900, token=blocked.address)
    chain.pledge(ids["credited"], 5, 150 * ETHER)
    chain.sleep(1000)
    chain.claim(ids["stale"], 1)  # tranche 1 of 3 (40%) to the creator, then silence
    chain.send(0, blocked.functions.setBlocked(chain.accounts[6], True), gas=100_000)
    chain.claim(ids["credited"], 6)  # the token refuses the payout: credited instead
    chain.sleep(181 * DAY)
    chain.send(7, chain.escrow.functions.abortStale(ids["stale"]))
    chain.refund(ids["expired"], 3)
    chain.refund(ids["stale"], 4)

    # ---- live campaigns, created after the jump
    usdc = deploy_token(chain, "Test USD Coin", "tUSDC", 6, range(2, 5))
    fake = deploy_token(chain, "Not Ether", "ETH", 18, range(2, 3))
    hostile = deploy_token(chain, HOSTILE_NAME, HOSTILE_SYMBOL, 2, range(2, 3))
    ids["usdc"] = chain.create(1, goal=1000 * USDC, duration=7200, token=usdc.address)
    chain.pledge(ids["usdc"], 2, 250_500_000)
    chain.pledge(ids["usdc"], 3, 120_250_000)
    ids["fake_eth"] = chain.create(1, goal=5 * ETHER, duration=7200, token=fake.address)
    chain.pledge(ids["fake_eth"], 2, ETHER)
    ids["hostile"] = chain.create(1, goal=1000, duration=7200, token=hostile.address)
    chain.pledge(ids["hostile"], 2, 555)

    picture = png()
    metadata = json.dumps(
        {
            "title": TITLE,
            "summary": SUMMARY,
            "description": DESCRIPTION,
            "website": WEBSITE,
            "image": hex32(picture),
        }
    ).encode()
    disclosure = b"Progress report 1\n\nThe panels are ordered; the cabinet is built.\n"
    ids["documented"] = create(chain, 1, eth, 2 * ETHER, 7200, keccak256(metadata))
    chain.pledge(ids["documented"], 2, 3 * ETHER // 10)
    chain.disclose(ids["documented"], 1, keccak256(disclosure))
    missing = keccak256(b"a disclosure nobody publishes")
    chain.disclose(ids["documented"], 1, missing)
    return World(
        chain,
        ids,
        {"usdc": usdc, "fake_eth": fake, "hostile": hostile, "blocked": blocked},
        documents={hex32(metadata): metadata, hex32(picture): picture, hex32(disclosure): disclosure},
        unpublished="0x" + missing.hex(),
    )
