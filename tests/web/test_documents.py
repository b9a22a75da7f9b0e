"""Names and documents (issue 20): a campaign's title everywhere, its description on its page, each
disclosure with a link to its document; the page hashes every document it shows itself and marks
it verified only when the hash is the one on the ledger, never on the server's word. Titles and
descriptions are untrusted text."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from ledger.core.hashing import keccak256
from tests.web.conftest import WorldSite, assert_fits, shoot
from tests.web.world import DESCRIPTION, SHOWN_TITLE, SUMMARY, WEBSITE

expect.set_options(timeout=15_000)


def metadata_hash(world: WorldSite) -> str:
    return str(world.get(f"/campaigns/{world.ids['documented']}")["metadata_hash"])


def test_a_published_description_is_checked_and_shown_as_text(world: WorldSite, screen: Any) -> None:
    cid = world.ids["documented"]
    screen.goto(f"{world.url}/#/campaign/{cid}")
    expect(screen.get_by_role("heading", level=1)).to_have_text(
        SHOWN_TITLE
    )  # NUL and bidi override gone, markup as text
    expect(screen).to_have_title(f"{SHOWN_TITLE} \u2014 CrowdLedger")
    about = screen.locator("section.about")
    expect(about).to_have_attribute("data-document-status", "verified")
    expect(about.locator(".about-summary")).to_have_text(SUMMARY)
    paragraphs = about.locator(".about-description p")
    expect(paragraphs).to_have_count(2)
    expect(paragraphs.nth(1)).to_have_text(DESCRIPTION.split("\n\n")[1])  # "<img ...>" stays text
    expect(about.get_by_role("link", name=WEBSITE)).to_have_attribute("href", WEBSITE)
    expect(about.locator(".doc-check")).to_contain_text("Verified by this page")
    link = about.get_by_role("link", name="Open the document (JSON")
    expect(link).to_have_attribute("href", f"/documents/{metadata_hash(world)}")
    # the picture: its hash is in the metadata; the page checked it too before showing it
    picture = about.locator(".about-image img")
    expect(picture).to_have_count(1)
    assert picture.get_attribute("src").startswith("data:image/png;base64,")
    assert screen.locator("main script").count() == 0 and screen.locator("main img").count() == 1
    assert_fits(screen)
    shoot(screen, f"documented_campaign_{screen.width}")


def test_each_disclosure_links_to_its_document_or_says_it_is_not_published(
    world: WorldSite, screen: Any
) -> None:
    cid = world.ids["documented"]
    documents = world.get(f"/campaigns/{cid}/disclosures")["data"]
    assert len(documents) == 2
    screen.goto(f"{world.url}/#/campaign/{cid}")
    published = screen.locator(f'.tl-doc[data-seq="{documents[0]["seq"]}"]')
    expect(published.locator(".doc-check")).to_have_attribute("data-document-status", "verified")
    expect(published.locator(".doc-title")).to_have_text("Progress report 1")
    expect(published.get_by_role("link", name="Open the document (text")).to_have_attribute(
        "href", f"/documents/{documents[0]['hash']}"
    )
    missing = screen.locator(f'.tl-doc[data-seq="{documents[1]["seq"]}"]')
    assert documents[1]["hash"] == world.world.unpublished
    expect(missing.locator(".doc-check")).to_have_attribute("data-document-status", "not_published")
    expect(missing.locator(".doc-check")).to_contain_text("Not published")
    assert_fits(screen)


def test_a_copy_that_does_not_hash_to_the_ledger_is_refused(world: WorldSite, page: Any) -> None:
    """The server (or anything between) sends other bytes for the metadata hash: the page hashes
    them, says they do not match, and shows none of their content."""
    digest = metadata_hash(world)
    forged = json.dumps(
        {"title": "Send your ETH here", "summary": "forged", "description": "forged"}
    ).encode()
    page.route(
        f"**/documents/{digest}",
        lambda route: route.fulfill(status=200, content_type="application/json", body=forged),
    )
    page.goto(f"{world.url}/#/campaign/{world.ids['documented']}")
    about = page.locator("section.about")
    expect(about).to_have_attribute("data-document-status", "mismatch")
    expect(about.locator(".doc-check")).to_contain_text("Does NOT match")
    expect(about.locator(".doc-check")).to_contain_text("0x" + keccak256(forged).hex())
    expect(about).not_to_contain_text("forged")
    expect(about).not_to_contain_text("Send your ETH here")


def test_titles_name_campaigns_everywhere(world: WorldSite, screen: Any) -> None:
    cid = world.ids["documented"]
    screen.goto(f"{world.url}/#/campaigns")
    card = screen.locator(f'.campaign-card[data-campaign-id="{cid}"]')
    expect(card.get_by_role("heading")).to_have_text(SHOWN_TITLE)
    expect(card.locator(".card-summary")).to_have_text(SUMMARY)
    untitled = screen.locator(f'.campaign-card[data-campaign-id="{world.ids["usdc"]}"]')
    expect(untitled.get_by_role("heading")).to_have_text(f"Campaign #{world.ids['usdc']}")
    # an entry's page and the verify answer name it too
    entry = next(e for e in world.get(f"/campaigns/{cid}/ledger")["data"] if e["kind_name"] == "pledged")
    screen.goto(f"{world.url}/#/entry/{entry['seq']}")
    expect(screen.locator(".crumbs")).to_contain_text(SHOWN_TITLE)
    screen.goto(f"{world.url}/#/verify?q={entry['tx_hash']}")
    expect(screen.locator("#verdict .answer")).to_contain_text(
        f"Your pledge of 0.3 ETH to {SHOWN_TITLE} (campaign {cid}) is in block "
    )
    assert_fits(screen)
