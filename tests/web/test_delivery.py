"""A milestone campaign's delivery on the page, in a real browser: the timeline of a campaign with
an open vote, one partly released, an aborted one and a plain one with a disclosure, and what the
verify view tells a backer (released, at stake in the vote, refundable). One chain for the module,
with milestone campaigns in every phase (EscrowChain.milestone_phases)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from api.main import create_app
from tests.support.chain import DOCUMENT, REPORT, EscrowChain
from tests.support.server import LiveServer
from tests.web.conftest import FINALITY, eth, index, settings_for, shoot

expect.set_options(timeout=15_000)


@dataclass
class Delivery:
    chain: EscrowChain
    server: LiveServer
    http: httpx.Client
    ids: dict[str, int]

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def open(self, page: Any, phase: str) -> dict[str, Any]:
        """Show the campaign of `phase`; returns its GET /campaigns/{id}/milestones."""
        page.goto(f"{self.url}/#/campaign/{self.ids[phase]}")
        expect(page.locator("main")).to_have_attribute("aria-busy", "false")
        return self.get(f"/campaigns/{self.ids[phase]}/milestones")


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivery]:
    chain = EscrowChain.start()
    try:
        ids = chain.milestone_phases()
        chain.mine(FINALITY + 1)
        db_url = f"sqlite:///{tmp_path_factory.mktemp('delivery') / 'delivery.db'}"
        index(chain, db_url)
        server = LiveServer.start(create_app(settings_for(chain, db_url, audit_interval=0)))
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                yield Delivery(chain, server, http, ids)
        finally:
            server.stop()
    finally:
        chain.stop()


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


def width(page: Any, selector: str) -> str:
    return str(page.locator(selector).evaluate("e => e.style.width || e.style.left"))


def timeline_order(page: Any) -> list[str]:
    return page.locator(".timeline > li").evaluate_all(
        "els => els.map(e => e.dataset.kind + (e.dataset.tranche !== undefined ? ':' + e.dataset.tranche : ''))"
    )


def expected_order(d: dict[str, Any], documents: list[dict[str, Any]]) -> list[str]:
    """delivery.js's order: what happened, by seq; then the tranches still ahead."""
    past = [(t["seq"], f"tranche:{t['tranche']}") for t in d["tranches"] if t["status"] == "released"]
    past += [(doc["seq"], doc["kind"]) for doc in documents]
    if d["abort"]:
        past.append((d["abort"]["seq"], "abort"))
    ahead = [f"tranche:{t['tranche']}" for t in d["tranches"] if t["status"] != "released"]
    return [kind for _, kind in sorted(past)] + ahead


def test_the_timeline_of_a_campaign_mid_vote(delivery: Delivery, page: Any) -> None:
    d = delivery.open(page, "voting")
    cid = delivery.ids["voting"]
    expect(page.locator(".title-row .badge")).to_have_text("In delivery")
    expect(page.locator(".summary .outcome")).to_have_text(
        "In delivery: 1 of 3 tranches released to the creator"
    )
    expect(page.locator(".delivery-summary")).to_contain_text("1 of 3 tranches released")
    documents = delivery.get(f"/campaigns/{cid}/disclosures")["data"]
    assert (
        timeline_order(page)
        == expected_order(d, documents)
        == ["tranche:0", "report", "tranche:1", "tranche:2"]
    )
    tranches = page.locator('.timeline [data-kind="tranche"]')
    assert tranches.evaluate_all("els => els.map(e => e.dataset.status)") == ["released", "voting", "pending"]
    claim = d["tranches"][0]
    first = tranches.nth(0)
    expect(first).to_contain_text("Tranche 1 \u00b7 20%")
    expect(first.get_by_role("link", name=f"#{claim['seq']}", exact=True)).to_have_attribute(
        "href", f"#/entry/{claim['seq']}"
    )
    expect(first).to_contain_text(claim["tx_hash"])

    # the open vote: tally, quorum line, deadline and countdown
    vote = d["vote"]
    panel = tranches.nth(1).locator(".vote-panel")
    expect(panel).to_have_attribute("data-vote-status", "open")
    expect(panel).to_contain_text(vote["report_hash"])
    tally = panel.get_by_role("img")
    expect(tally).to_have_attribute("data-approve", "1000")
    expect(tally).to_have_attribute("data-reject", "333")
    expect(tally).to_have_attribute("data-quorum", vote["quorum"])
    expect(tally).to_have_attribute(
        "aria-label", re.compile(r"^Approve: .* Reject: .* Quorum: .*: reached\.$")
    )
    assert width(page, ".tally-approve") == "49.9%"  # 1000 of 2001, in tenths of a percent, rounded down
    assert width(page, ".tally-reject") == "16.6%"
    assert width(page, ".tally-quorum") == "20%"
    deadline = f"{vote['vote_end'][:10]} {vote['vote_end'][11:16]} UTC"
    expect(panel.locator(".vote-deadline")).to_contain_text(f"Voting closes {deadline}")
    expect(panel.locator(".countdown")).to_have_text(re.compile(r"^in (\d+ h )?\d+ min$|^in \d+ h$"))
    expect(panel.locator(".vote-verdict")).to_have_text(
        "If the vote closed now, the tranche would be released."
    )
    expect(panel.locator(".tally-legend")).to_contain_text("2 voters")
    report = page.locator('.timeline [data-kind="report"]')
    expect(report).to_contain_text("Progress report for tranche 2")
    expect(report.locator(".doc-hash")).to_have_text(hex32(REPORT))

    # the ledger table names the new kinds
    entries = page.locator(".entries")
    expect(entries).to_contain_text("Release requested")
    expect(entries).to_contain_text("Vote")
    expect(entries).to_contain_text("Milestone plan")
    shoot(page, "delivery_mid_vote")


def test_the_timeline_of_a_partly_released_campaign(delivery: Delivery, page: Any) -> None:
    d = delivery.open(page, "delivering")
    cid = delivery.ids["delivering"]
    documents = delivery.get(f"/campaigns/{cid}/disclosures")["data"]
    assert [doc["kind"] for doc in documents] == ["report", "disclosure"]
    assert timeline_order(page) == expected_order(d, documents)
    assert timeline_order(page)[-1] == "tranche:2"
    tranches = page.locator('.timeline [data-kind="tranche"]')
    assert tranches.evaluate_all("els => els.map(e => e.dataset.status)") == [
        "released",
        "released",
        "pending",
    ]
    second = d["tranches"][1]
    item = page.locator('.timeline [data-tranche="1"]')
    expect(item.locator(".tag")).to_have_text("Released")
    expect(item).to_contain_text("Tranche 2 \u00b7 30%")
    expect(item.get_by_role("link", name=f"#{second['seq']}", exact=True)).to_have_attribute(
        "href", f"#/entry/{second['seq']}"
    )
    expect(item).to_contain_text(second["tx_hash"])
    expect(item).to_contain_text(hex32(REPORT))
    amounts = item.locator(".amount")
    expect(amounts.nth(1)).to_have_attribute("title", f"{eth(int(second['amount']))} ETH")  # gross, then paid
    expect(page.locator('.timeline [data-kind="disclosure"] .doc-hash')).to_have_text(hex32(DOCUMENT))
    expect(page.locator('.timeline [data-tranche="2"]')).to_contain_text("Paid only if backers approve")
    expect(page.locator(".vote-panel")).to_have_count(0)  # the last vote is decided
    expect(page.locator(".terms")).to_contain_text("Milestones")
    expect(page.locator(".terms")).to_contain_text("20% / 30% / 50%")


def test_the_timeline_of_an_aborted_campaign(delivery: Delivery, page: Any) -> None:
    d = delivery.open(page, "aborted")
    cid = delivery.ids["aborted"]
    abort = d["abort"]
    expect(page.locator(".title-row .badge")).to_have_text("Aborted")
    expect(page.locator(".summary .outcome")).to_contain_text("backers can refund pro rata")
    documents = delivery.get(f"/campaigns/{cid}/disclosures")["data"]
    assert (
        timeline_order(page) == expected_order(d, documents) == ["tranche:0", "report", "abort", "tranche:1"]
    )
    expect(page.locator('.timeline [data-tranche="1"]')).to_have_attribute("data-status", "returned")
    expect(page.locator('.timeline [data-tranche="1"]')).to_contain_text("the campaign was aborted")
    item = page.locator(".tl-abort")
    expect(item).to_contain_text("The vote on tranche 2 failed")
    expect(item).to_have_attribute("data-cause", "failed_vote")
    expect(item).to_contain_text("Released to the creator before the abort")
    expect(item.locator(".refundable .amount")).to_have_attribute("title", f"{eth(int(abort['owed']))} ETH")
    expect(item).to_contain_text("goes to the platform\u2019s fees with the last refund")
    expect(item.get_by_role("link", name=f"#{abort['seq']}", exact=True)).to_be_visible()
    shoot(page, "delivery_aborted")


def test_a_plain_campaign_shows_its_disclosures(delivery: Delivery, page: Any) -> None:
    delivery.open(page, "plain")
    expect(page.locator("#h-delivery")).to_have_text("Disclosures")
    expect(page.locator('.timeline [data-kind="tranche"]')).to_have_count(0)
    expect(page.locator(".timeline > li")).to_have_count(1)
    expect(page.locator('.timeline [data-kind="disclosure"] .doc-hash')).to_have_text(hex32(DOCUMENT))
    expect(page.locator(".terms")).to_contain_text("All-or-nothing")


def test_verify_tells_a_backer_what_was_released_what_is_at_stake_and_what_is_refundable(
    delivery: Delivery, page: Any
) -> None:
    backer = delivery.chain.accounts[5]
    page.goto(f"{delivery.url}/#/verify?q={backer}")
    answer = page.locator("#verdict .answer")
    expect(answer).to_have_attribute("data-status", "positions")
    checked = {c["campaign_id"]: c for c in delivery.get(f"/verify/backer/{backer}")["campaigns"]}
    voting = checked[delivery.ids["voting"]]
    expect(answer).to_contain_text("backed 3 campaigns")
    row = page.locator(".positions tbody tr").filter(
        has=page.locator(f'a[href="#/campaign/{delivery.ids["voting"]}"]')
    )
    expect(row.locator(".released .amount")).to_have_attribute("title", f"{eth(int(voting['released']))} ETH")
    expect(row.locator(".at-stake .amount")).to_have_attribute("title", f"{eth(int(voting['at_stake']))} ETH")
    expect(row.locator(".votes")).to_have_text(f"tranche 2: approve (#{voting['votes'][0]['seq']})")
    expect(page.locator("#evidence")).to_contain_text("every position matches pledgeOf on-chain")

    refunder = delivery.chain.accounts[4]
    page.get_by_label("Transaction hash or address").fill(refunder)
    page.get_by_role("button", name="Verify").click()
    aborted = next(
        c
        for c in delivery.get(f"/verify/backer/{refunder}")["campaigns"]
        if c["campaign_id"] == delivery.ids["aborted"]
    )
    expect(answer).to_contain_text("it can refund")
    row = page.locator(".positions tbody tr").filter(
        has=page.locator(f'a[href="#/campaign/{delivery.ids["aborted"]}"]')
    )
    expect(row.locator(".standing")).to_contain_text("Refundable after the abort")
    expect(row.locator(".refundable .amount")).to_have_attribute(
        "title", f"{eth(int(aborted['refundable']))} ETH"
    )
    expect(row.locator(".released .amount")).to_have_attribute(
        "title", f"{eth(int(aborted['released']))} ETH"
    )
    shoot(page, "verify_milestones")


def test_the_timeline_fits_a_phone(delivery: Delivery, phone: Any) -> None:
    for phase in ("voting", "aborted"):
        delivery.open(phone, phase)
        expect(phone.locator(".timeline")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, phase
        shoot(phone, f"phone_delivery_{phase}")
