"""Tokens on the page, each with the decimals, symbol and name the indexer read from its contract
(issue 20 bug 1): a 6-decimal stablecoin the test deploys itself, a token that calls itself "ETH",
and one whose symbol and name are hostile text. Every view, at 1280 and 390 px."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from ledger.core.addresses import checksum
from tests.web.conftest import WorldSite, assert_fits, shoot

expect.set_options(timeout=15_000)

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def chart_datasets(page: Any, selector: str) -> list[dict[str, Any]]:
    return page.evaluate(
        "sel => Chart.getChart(document.querySelector(sel)).data.datasets.map(d => ({label: d.label, data: d.data}))",
        selector,
    )


def axis_title(page: Any, selector: str, axis: str) -> str:
    return str(
        page.evaluate(
            "([sel, axis]) => Chart.getChart(document.querySelector(sel)).options.scales[axis].title.text",
            [selector, axis],
        )
    )


def painted_pixels(page: Any, selector: str) -> int:
    return int(
        page.evaluate(
            """sel => { const c = document.querySelector(sel); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""",
            selector,
        )
    )


def test_the_api_reads_the_tokens_decimals_from_the_chain(world: WorldSite) -> None:
    """Not from a table: the test deployed these tokens itself, with decimals 6, 18 and 2."""
    for name, decimals in (("usdc", 6), ("fake_eth", 18), ("hostile", 2)):
        asset = world.get(f"/campaigns/{world.ids[name]}")["asset"]
        assert asset["decimals"] == decimals and asset["assumed"] is False, (name, asset)
        assert asset["address"] == checksum(world.world.tokens[name].address.lower())


def test_a_six_decimal_token_campaign_is_shown_in_its_own_units(world: WorldSite, screen: Any) -> None:
    """370.75 tUSDC raised of a 1,000 tUSDC goal: on the card, the campaign page, its chart and its
    backers (today: "<0.000001 tokens raised of <0.000001 tokens goal" and an empty chart)."""
    cid = world.ids["usdc"]
    screen.goto(f"{world.url}/#/campaigns")
    card = screen.locator(f'.campaign-card[data-campaign-id="{cid}"]')
    expect(card.locator(".raised")).to_have_text("370.75 tUSDC raised of 1,000 tUSDC goal (37%)")
    expect(card.locator(".asset")).to_have_text("tUSDC")
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "37")
    assert_fits(screen)

    screen.goto(f"{world.url}/#/campaign/{cid}")
    expect(screen.locator(".summary .total")).to_have_text("370.75 tUSDC")
    expect(screen.locator(".terms")).to_contain_text("1,000 tUSDC (1000000000 base units)")
    expect(screen.locator(".terms")).to_contain_text("Test USD Coin")
    pledged, goal = chart_datasets(screen, "#pledge-chart")[:2]
    points = [p for p in pledged["data"] if not p.get("extend")]
    assert [p["y"] for p in points] == [0, 250.5, 370.75]
    assert goal["data"][0]["y"] == 1000 and goal["label"] == "Goal: 1,000 tUSDC"
    assert axis_title(screen, "#pledge-chart", "y") == "tUSDC"
    assert painted_pixels(screen, "#pledge-chart") > 5_000
    backers = screen.locator(".backers tbody tr")
    expect(backers).to_have_count(2)
    expect(screen.locator(".backers")).to_contain_text("250.5 tUSDC")
    expect(screen.locator(".backers")).to_contain_text("120.25 tUSDC")
    expect(screen.locator(".entries")).to_contain_text("goal 1,000 tUSDC")
    assert_fits(screen)
    shoot(screen, f"usdc_campaign_{screen.width}")


def test_a_token_that_calls_itself_eth_is_not_shown_as_ether(world: WorldSite, screen: Any) -> None:
    """Its symbol collides with ETH's: the page shows the API's display symbol, which carries the
    token's short address, and the terms say it is an ERC-20 token."""
    cid = world.ids["fake_eth"]
    asset = world.get(f"/campaigns/{cid}")["asset"]
    screen.goto(f"{world.url}/#/campaign/{cid}")
    chip = screen.locator(".summary .asset")
    label = chip.inner_text()
    assert label != "ETH" and asset["address"][:6] in label, label
    expect(screen.locator(".summary .total")).to_have_text(f"1 {label}")
    expect(screen.locator(".terms")).to_contain_text("ERC-20 token")
    expect(screen.locator(".terms")).to_contain_text("Not Ether")
    assert_fits(screen)


def test_hostile_symbols_and_names_are_plain_capped_text(world: WorldSite, screen: Any) -> None:
    """A symbol with a bidi override, a bell, markup and 40 characters: shown as text, no control
    characters, at most 16 characters, no element made from it; amounts in its 2 decimals."""
    cid = world.ids["hostile"]
    screen.goto(f"{world.url}/#/campaign/{cid}")
    chip = screen.locator(".summary .asset")
    label = chip.inner_text()
    assert not CONTROL.search(label) and 0 < len(label) <= 32, repr(
        label
    )  # 16 for the symbol, with the short address
    expect(screen.locator(".summary .total")).to_have_text(re.compile(r"^5\.55 "))
    assert screen.locator("main img").count() == 0  # the "<img ...>" in the symbol stayed text
    terms = screen.locator(".terms").inner_text()
    assert not CONTROL.search(terms), repr(terms)
    screen.goto(f"{world.url}/#/campaigns")
    card = screen.locator(f'.campaign-card[data-campaign-id="{cid}"]')
    expect(card.locator(".asset")).to_have_text(label)
    assert screen.locator(".cards img").count() == 0
    assert_fits(screen)


def test_the_stats_chart_has_one_axis_per_asset(world: WorldSite, screen: Any) -> None:
    stats = world.get("/stats")
    screen.goto(f"{world.url}/#/stats")
    charts = screen.locator("canvas.money-chart")
    expect(charts).to_have_count(len(stats["tokens"]))
    usdc = checksum(world.world.tokens["usdc"].address.lower())
    selector = f'canvas.money-chart[data-asset="{usdc}"]'
    assert axis_title(screen, selector, "x") == "tUSDC"
    assert chart_datasets(screen, selector)[0]["data"][0] == 370.75  # pledged, in whole tUSDC
    assert axis_title(screen, 'canvas.money-chart[data-asset="ETH"]', "x") == "ETH"
    expect(screen.locator(".assets")).to_contain_text("370.75 tUSDC")
    assert_fits(screen)


def test_the_asset_filter_lists_symbols(world: WorldSite, page: Any) -> None:
    page.goto(f"{world.url}/#/campaigns")
    select = page.get_by_label("Asset", exact=True)
    usdc = checksum(world.world.tokens["usdc"].address.lower())
    expect(select.locator(f'option[value="{usdc}"]')).to_have_text("tUSDC (Test USD Coin)")
    select.select_option(usdc)
    expect(page.locator(".campaign-card")).to_have_count(1)
    expect(page.locator(".campaign-card .asset")).to_have_text("tUSDC")
