"""The escrow's exits on the page (issue 18) and figures that agree (issue 20 bugs 3-5): an expired
campaign and a stale-aborted one in words, their backers "refundable" with the reason, every
backer's share already released to the creator, the campaign's "Held for backers now" and "Still
refundable" equal to the sums of its backers' rows, backers ever beside backers still holding, and
a creator's credit on their verify view."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import WorldSite, assert_fits, shoot

expect.set_options(timeout=15_000)

ETHER = 10**18


def column_sum(page: Any, cell_class: str) -> int:
    """The exact sum of a backers column (each cell's amount carries its base units)."""
    values = page.locator(f".backers td.{cell_class} .amount").evaluate_all(
        "els => els.map(e => e.dataset.amount)"
    )
    return sum(int(v) for v in values)


def summary_amount(page: Any, item_class: str) -> int:
    return int(page.locator(f".summary .meta li.{item_class} .amount").get_attribute("data-amount"))


def test_an_expired_campaign_in_words(world: WorldSite, screen: Any) -> None:
    cid = world.ids["expired"]
    backer = world.chain.accounts[2]
    screen.goto(f"{world.url}/#/campaign/{cid}")
    expect(screen.locator(".title-row .badge")).to_have_text("Expired")
    expect(screen.locator(".summary .outcome")).to_have_text(
        "Expired: the creator never claimed \u00b7 backers can refund"
    )
    expect(screen.locator(".summary .backer-count")).to_have_text("2 backers \u00b7 1 still holding")
    expect(screen.locator(".summary .progress")).to_have_class(
        re.compile(r"\bended\b")
    )  # 110% of the goal, but not green
    expect(screen.locator(".live")).not_to_contain_text("Live updates")
    row = screen.locator(".backers tbody tr").filter(has=screen.locator(f'a[href="#/verify?q={backer}"]'))
    expect(row.locator(".status")).to_contain_text(
        "Refundable: the creator never claimed the funds within 180 days of the deadline"
    )
    expect(row.locator("td.refundable")).to_have_text("0.6 ETH")
    assert summary_amount(screen, "held") == column_sum(screen, "held") == 6 * ETHER // 10
    assert summary_amount(screen, "refundable") == column_sum(screen, "refundable") == 6 * ETHER // 10
    assert_fits(screen)
    shoot(screen, f"expired_campaign_{screen.width}")


def test_a_stale_aborted_campaign_shows_the_cause_and_every_share_released(
    world: WorldSite, screen: Any
) -> None:
    """Pledges 0.7 and 0.5 ETH, 40% released by the claim, then 180 days of silence: backer 4 took
    back 0.3 ETH and had 0.2 ETH released to the creator; backer 2 can refund 0.42 ETH."""
    cid = world.ids["stale"]
    screen.goto(f"{world.url}/#/campaign/{cid}")
    expect(screen.locator(".title-row .badge")).to_have_text("Aborted")
    expect(screen.locator(".summary .outcome")).to_contain_text("the creator went silent")
    abort = screen.locator('.timeline [data-kind="abort"]')
    expect(abort).to_have_attribute("data-cause", "silence")
    expect(abort).to_contain_text("asked for no release vote for more than 180 days")
    expect(screen.locator('.timeline [data-kind="tranche"]').first).to_contain_text("Tranche 1")
    refunded = screen.locator(".backers tbody tr").filter(
        has=screen.locator(f'a[href="#/verify?q={world.chain.accounts[4]}"]')
    )
    expect(refunded.locator("td.released")).to_have_text("0.2 ETH")
    expect(refunded.locator("td.refundable")).to_have_text("0 ETH")
    holding = screen.locator(".backers tbody tr").filter(
        has=screen.locator(f'a[href="#/verify?q={world.chain.accounts[2]}"]')
    )
    expect(holding.locator("td.released")).to_have_text("0.28 ETH")
    expect(holding.locator("td.refundable")).to_have_text("0.42 ETH")
    expect(holding.locator(".status")).to_contain_text("the creator went silent")
    assert summary_amount(screen, "held") == column_sum(screen, "held")
    assert summary_amount(screen, "refundable") == column_sum(screen, "refundable") == 42 * ETHER // 100
    assert_fits(screen)
    shoot(screen, f"stale_aborted_campaign_{screen.width}")


def test_a_backer_of_an_expired_and_a_stale_campaign_sees_refundable_with_the_reason(
    world: WorldSite, screen: Any
) -> None:
    backer = world.chain.accounts[2]
    screen.goto(f"{world.url}/#/verify?q={backer}")
    answer = screen.locator("#verdict .answer")
    expect(answer).to_have_attribute("data-status", "positions")
    expect(answer).to_contain_text("it can refund 1.02 ETH now")  # 0.6 (expired) + 0.42 (stale)
    rows = screen.locator(".positions tbody tr")
    expired = rows.filter(has=screen.locator(f'a[href="#/campaign/{world.ids["expired"]}"]'))
    expect(expired.locator(".badge")).to_have_text("Expired")
    expect(expired).to_contain_text(
        "because the creator never claimed the funds within 180 days of the deadline"
    )
    stale = rows.filter(has=screen.locator(f'a[href="#/campaign/{world.ids["stale"]}"]'))
    expect(stale).to_contain_text("because the creator went silent")
    expect(stale).to_contain_text("0.28 ETH")  # released to the creator before the abort
    usdc = rows.filter(has=screen.locator(f'a[href="#/campaign/{world.ids["usdc"]}"]'))
    expect(usdc).to_contain_text("250.5 tUSDC")
    # the table fits: at 390 px each row is a block of labelled lines, long addresses wrap
    wrap = screen.locator(".table-wrap").filter(has=screen.locator(".positions"))
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), "the positions table scrolls sideways"
    assert_fits(screen)
    shoot(screen, f"verify_backer_{screen.width}")


def test_a_creator_with_a_credit_sees_it(world: WorldSite, screen: Any) -> None:
    """The blocked creator's payout (150 tokens less the 2.5% fee) is credited: the verify view of
    their address shows it from /credits/{address}."""
    creator = world.chain.accounts[world.world.creator_credited]
    credits = world.get(f"/credits/{creator}")
    assert credits, credits
    screen.goto(f"{world.url}/#/verify?q={creator}")
    section = screen.locator("section.credits")
    expect(section).to_contain_text("Owed to this address")
    expect(section).to_contain_text("146.25 BLK")
    expect(section).to_contain_text("withdrawOwed")
    expect(screen.locator("#verdict .answer")).to_contain_text("The escrow owes it 146.25 BLK as a creator.")
    assert_fits(screen)
