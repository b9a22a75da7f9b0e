"""The demo's documents, as exact bytes: each campaign's metadata (the JSON its metadataHash commits
to: `title`, `summary`, `description`, optional `website` and `image`, docs/ledger-format.md), a
picture for some campaigns (a PNG named by its hash in the metadata), and the text of each release
report and disclosure. The ledger commits to their Keccak-256 when the campaign is created, the
release requested or the disclosure made; `crowdledger up` publishes the bytes once the ledger is
indexed (metadata before the pictures they name), so the page shows names and documents.

    documents = DemoDocuments()
    metadata_hash = documents.metadata(campaign, campaign_terms(campaign, deadline, decimals=18))
    report_hash = documents.text("Milestone 1 report: prototype shipped")
    documents.items()      # (hash, bytes) in the order to publish them
"""

from __future__ import annotations

import json
import struct
import time
import zlib

from devnet.plan import PlannedCampaign
from devnet.summary import DAY
from ledger.core.hashing import keccak256

# title: (summary, website or None); every campaign of devnet.plan, in any plan
PROFILES: dict[str, tuple[str, str | None]] = {
    "Community garden beds": (
        "Twelve raised beds and a rain barrel for the empty lot on Alder Street.",
        "https://example.org/alder-street-garden",
    ),
    "Indie game soundtrack": ("An orchestral soundtrack for a small puzzle game, recorded live.", None),
    "Open-source audit fund": (
        "A paid security review of three widely used open-source libraries.",
        "https://example.org/audit-fund",
    ),
    "Podcast season two": ("Ten new episodes on the history of public libraries.", None),
    "Rooftop solar panels": (
        "24 panels and two inverters on the roof of the community centre.",
        "https://example.org/rooftop-solar",
    ),
    "Board game reprint": ("A second printing of a cooperative board game, with fixed rules.", None),
    "Art zine issue #4": ("The fourth issue of a risograph zine by local artists.", None),
    "Hackathon prize pool": ("Prizes for a weekend hackathon on public-transport data.", None),
    "Robot kit for schools": ("Low-cost robot kits for five primary schools.", None),
    "Film festival shorts": ("Screening fees and subtitles for a short-film programme.", None),
    "Neighbourhood bakery oven": (
        "A wood-fired oven the whole street can bake in on Saturdays.",
        "https://example.org/street-oven",
    ),
    "Community radio transmitter": ("A new transmitter so the station reaches the valley.", None),
    "Solar lanterns for village schools": (
        "400 solar lanterns so pupils can study after dark; priced in a dollar stablecoin.",
        "https://example.org/solar-lanterns",
    ),
    "Makerspace laser cutter": ("A 60 W laser cutter for the makerspace, with a year of training.", None),
    "Open hardware weather station": (
        "An open-hardware weather station kit, built and tested with three schools.",
        "https://example.org/weather-station",
    ),
    "River keepers documentary": ("A documentary on the volunteers who keep the river clean.", None),
    "Cargo bike trailer": ("A trailer that lets a cargo bike move a market stall.", None),
    "Repair cafe tool library": ("A lending library of tools for the monthly repair cafe.", None),
    "Community darkroom": ("Restored enlargers and a shared darkroom for film photographers.", None),
    "Field guide translation": ("A regional field guide to birds, translated into Spanish.", None),
    "Smart beehive sensors": ("Sensors that warn beekeepers of swarming and cold hives.", None),
    "Lighthouse restoration fund": ("Paint, glass and a new lamp for the harbour lighthouse.", None),
    "Mobile bicycle repair van": ("A van that brings bicycle repairs to the outer estates.", None),
    "Open seed library": (
        "A library of local seeds that members borrow in spring and return in autumn.",
        "https://example.org/seed-library",
    ),
}
REPORT_BODY = (
    "What was done since the last release, with the receipts, is listed below. The next tranche "
    "pays for the next stage of the plan in the campaign's description.\n\n"
    "- work done: as the title says\n- money spent: as the receipts attached show\n- next: the next stage\n"
)
DEMO_NOTE = "This campaign is demo data seeded by `crowdledger up`; no real project stands behind it."


def campaign_terms(campaign: PlannedCampaign, deadline: int, decimals: int) -> str:
    """What a campaign's metadata says of its terms, fixed when it is created: its goal in its
    asset's own decimals, its deadline, its rule, and a milestone campaign's tranches."""
    day = time.strftime("%d %B %Y", time.gmtime(deadline))
    goal = f"{campaign.goal / 10**decimals:,.2f} {campaign.asset}"
    if campaign.keep_it_all:
        rule = "keep-it-all: the creator keeps what is pledged even short of the goal"
    else:
        rule = "all or nothing: if the goal is not met by then, every backer takes a refund"
    text = f"Goal: {goal} by {day} ({rule})."
    if campaign.phase:
        split = "/".join(f"{bps / 100:g}" for bps in campaign.tranches)
        text += (
            f" Paid in {len(campaign.tranches)} tranches ({split} %); each after the backers approve "
            f"a progress report in a vote of {campaign.voting_period / DAY:g} days."
        )
    return text


class DemoDocuments:
    """The documents of one seeding, by hash, in the order they must be published."""

    def __init__(self) -> None:
        self._items: dict[str, bytes] = {}
        self._pictures: dict[str, bytes] = {}

    def _add(self, body: bytes, store: dict[str, bytes]) -> bytes:
        digest = keccak256(body)
        store.setdefault("0x" + digest.hex(), body)
        return digest

    def metadata(self, campaign: PlannedCampaign, terms: str, *, picture: bool = False) -> bytes:
        """The keccak256 of `campaign`'s metadata document; `terms` is a sentence on its goal and
        deadline (and tranches), known when it is created. With `picture`, the document names a
        PNG by its hash."""
        summary, website = PROFILES.get(campaign.title, (campaign.title, None))
        document: dict[str, str] = {
            "title": campaign.title,
            "summary": summary,
            "description": f"{terms}\n\n{DEMO_NOTE}",
        }
        if website:
            document["website"] = website
        if picture:
            document["image"] = "0x" + self._add(campaign_picture(campaign.title), self._pictures).hex()
        body = json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n"
        return self._add(body, self._items)

    def text(self, title: str, body: str = REPORT_BODY) -> bytes:
        """The keccak256 of a report or disclosure: its title, a blank line and its body."""
        return self._add(f"{title}\n\n{body}".encode(), self._items)

    def items(self) -> list[tuple[str, bytes]]:
        """Every document as (0x-hash, bytes): the metadata and texts first, then the pictures,
        which count as committed only once a stored metadata document names them."""
        return [*self._items.items(), *self._pictures.items()]

    def __len__(self) -> int:
        return len(self._items) + len(self._pictures)


def campaign_picture(title: str, width: int = 160, height: int = 90) -> bytes:
    """A small PNG of `title`'s own colours (pastel diagonal bands from its hash): deterministic bytes."""
    digest = keccak256(title.encode())
    colours = [bytes((c + 2 * 255) // 3 for c in digest[i : i + 3]) for i in range(0, 12, 3)]
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter: none
        for x in range(width):
            row += colours[((x + y) // 24) % len(colours)]
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )
