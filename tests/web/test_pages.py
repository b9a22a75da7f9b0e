"""The public web page in a real browser, against a real chain, indexer and API process."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect
from sqlalchemy import text

from api.routes.web import resolve_asset
from ledger.core.addresses import checksum
from ledger.db.schema import trigger_ddl
from tests.support.server import wait_until
from tests.web.conftest import ETHER, FINALITY, Site, assert_fits, shoot

expect.set_options(timeout=15_000)


def wei_text(amount: int, max_fraction: int | None = None) -> str:
    """format.js formatUnits in Python: whole units with thousands separators, rounded half up."""
    if max_fraction is not None:
        unit = 10 ** (18 - max_fraction)
        amount = (amount + unit // 2) // unit * unit
    whole, frac = divmod(amount, 10**18)
    return f"{whole:,}" + (f".{frac:018d}".rstrip("0") if frac else "")


def chart_points(page: Any, selector: str) -> list[dict[str, Any]]:
    return page.evaluate(
        """sel => Chart.getChart(document.querySelector(sel)).data.datasets.map(d => ({label: d.label, data: d.data}))""",
        selector,
    )


def painted_pixels(page: Any, selector: str) -> int:
    """How many pixels of a canvas are not blank: an empty chart paints few."""
    return page.evaluate(
        """sel => { const c = document.querySelector(sel); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""",
        selector,
    )


# ------------------------------------------------------------------------------------ serving


def test_the_api_process_serves_the_page_and_nothing_outside_web(site: Site) -> None:
    page = site.http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/assets/js/app.js">' in page.text
    script = site.http.get("/assets/js/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    chart = site.http.get("/vendor/chart.umd.min.js")
    assert chart.status_code == 200 and len(chart.content) > 100_000
    for missing in (
        "/assets/js/nope.js",
        "/assets/../api/main.py",
        "/assets/%2e%2e/pyproject.toml",
        "/vendor/jquery.js",
        "/assets/.hidden",
    ):
        response = site.http.get(missing)
        assert response.status_code == 404, missing
        assert response.json()["detail"]
    assert resolve_asset("../api/main.py") is None and resolve_asset("js/../../pyproject.toml") is None
    assert resolve_asset("css/app.css") is not None
    config = site.get("/web/config")
    assert config["contract"] == checksum(site.chain.address.lower())
    assert config["chain_id"] == site.chain.w3.eth.chain_id and config["finality_depth"] == FINALITY
    assert site.get("/campaigns")["count"] > 0  # the API's own routes are untouched


# ------------------------------------------------------------------------------------ campaigns


def test_campaign_list_renders_and_filters(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/#/campaigns")
    everything = site.get("/campaigns", params={"limit": 500})
    cards = page.locator(".campaign-card")
    expect(cards).to_have_count(everything["count"])
    expect(page.locator(".count")).to_have_text(f"{everything['count']} campaigns.")
    assert [int(i) for i in cards.evaluate_all("els => els.map(e => e.dataset.campaignId)")] == [
        c["id"] for c in everything["data"]
    ]
    # one card in detail: progress toward the goal, raised and token, backers, time left, badge
    open_campaign = site.get(f"/campaigns/{site.open_id}")
    card = page.locator(f'.campaign-card[data-campaign-id="{site.open_id}"]')
    expect(card.locator(".badge")).to_have_text("Funding")
    bar = card.get_by_role("progressbar")
    percent = int(open_campaign["pledged"]) * 100 // int(open_campaign["goal"])
    expect(bar).to_have_attribute("aria-valuenow", str(percent))
    expect(card.locator(".raised")).to_contain_text(
        f"{wei_text(int(open_campaign['pledged']), 4)} ETH raised of 2 ETH goal"
    )
    expect(card).to_contain_text(f"{open_campaign['backer_count']} backers")
    expect(card.locator(".outcome")).to_have_text(re.compile(r"^\d+ h( \d+ min)? left$"))
    claimed = page.locator('.campaign-card[data-state="claimed"]').first
    expect(claimed.locator(".outcome")).to_contain_text("paid to the creator")

    # filter by state
    page.get_by_label("State", exact=True).select_option("funding")
    funding = site.get("/campaigns", params={"state": "funding"})
    expect(cards).to_have_count(funding["count"])
    assert set(cards.evaluate_all("els => els.map(e => e.dataset.state)")) == {"funding"}
    assert "state=funding" in page.url

    # sort by most raised, as the API does
    page.get_by_label("Sort", exact=True).select_option("most_raised")
    ranked = site.get("/campaigns", params={"state": "funding", "sort": "most_raised"})
    expect(cards.first).to_have_attribute("data-campaign-id", str(ranked["data"][0]["id"]))
    assert [int(i) for i in cards.evaluate_all("els => els.map(e => e.dataset.campaignId)")] == [
        c["id"] for c in ranked["data"]
    ]

    # the ERC-20 filter (its option comes from /stats), then a creator typed with the keyboard
    page.get_by_label("State", exact=True).select_option("")
    token = checksum(site.chain.token.address.lower())
    page.get_by_label("Asset", exact=True).select_option(token)
    tokens = site.get("/campaigns", params={"token": token})
    expect(cards).to_have_count(tokens["count"])
    expect(cards.locator(".asset").first).to_have_text(
        site.get(f"/campaigns/{site.token_id}")["asset"]["symbol"]
    )
    page.get_by_label("Asset", exact=True).select_option("")
    creator = page.get_by_label("Creator", exact=True)
    creator.fill("0x1234")
    creator.press("Enter")
    expect(page.locator(".notice.bad")).to_contain_text("0x followed by 40 hex digits")
    expect(creator).to_have_attribute("aria-invalid", "true")
    creator.fill(site.chain.accounts[2])
    creator.press("Enter")
    mine = site.get("/campaigns", params={"creator": site.chain.accounts[2]})
    expect(cards).to_have_count(mine["count"])
    assert "creator=" in page.url

    # the filters survive a reload (they live in the address)
    page.reload()
    expect(cards).to_have_count(mine["count"])
    expect(page.get_by_label("Creator", exact=True)).to_have_value(site.chain.accounts[2])


def test_campaign_page_shows_the_chain_total_and_draws_the_chart(site: Site, page: Any) -> None:
    cid = site.open_id
    page.goto(f"{site.url}/#/campaign/{cid}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Campaign #{cid}")
    onchain = site.onchain_pledged(cid)
    total = page.locator(".summary .total")
    expect(total).to_have_attribute("data-pledged", str(onchain))
    expect(total).to_have_text(f"{wei_text(onchain, 4)} ETH")

    # the terms
    terms = page.locator(".terms")
    expect(terms).to_contain_text("All-or-nothing")
    expect(terms).to_contain_text("2.5% (250 basis points)")
    expect(terms).to_contain_text("3 ETH")  # the cap per backer
    expect(terms).to_contain_text("0x" + "42" * 32)  # the metadata hash

    # the chart: the running total after each pledge or unpledge, ending on the chain's total
    expect(page.locator("#pledge-chart")).to_have_attribute(
        "aria-label", re.compile("Money pledged over time")
    )
    datasets = chart_points(page, "#pledge-chart")
    pledged_line, goal_line = datasets[0]["data"], datasets[1]["data"]
    entries = site.get(f"/campaigns/{cid}/ledger", params={"limit": 500})["data"]
    moves = [e for e in entries if e["kind_name"] in ("pledged", "unpledged")]
    real_points = [p for p in pledged_line if not p.get("extend")]
    assert len(real_points) == len(moves) + 1
    assert real_points[-1]["total"] == str(onchain)
    assert [p["total"] for p in real_points][:2] == ["0", moves[0]["amount"]]
    assert goal_line[0]["y"] == 2.0
    assert painted_pixels(page, "#pledge-chart") > 5_000

    # the time axis names the year (chain time, UTC)
    ticks = page.evaluate(
        "() => Chart.getChart(document.querySelector('#pledge-chart')).scales.x.ticks.map(t => t.label)"
    )
    assert ticks and all(
        re.fullmatch(r"20\d\d-\d\d-\d\d", str(t[0] if isinstance(t, list) else t)[:10]) for t in ticks
    ), ticks

    # one rounding rule on the page: at most 4 decimals, the exact amount in the tooltip
    shown = page.locator("main .amount").evaluate_all("els => els.map(e => e.textContent)")
    assert shown and all(not re.search(r"\.\d{5,}", text) for text in shown), shown

    # backers and entries, each entry linking to its proof, each backer to their verify view
    backers = site.get(f"/campaigns/{cid}/backers")["data"]
    expect(page.locator(".backers tbody tr")).to_have_count(len(backers))
    first = backers[0]["backer"]
    expect(page.locator(".backers tbody tr").first.locator("th a")).to_have_attribute(
        "href", f"#/verify?q={first}"
    )
    expect(page.locator(".backers .status").first).to_have_text(
        re.compile(r"^[A-Z]")
    )  # words, not status codes
    rows = page.locator(".entries tbody tr")
    expect(rows).to_have_count(len(entries))
    newest = max(e["seq"] for e in entries)
    expect(rows.first.locator("th a")).to_have_attribute("href", f"#/entry/{newest}")
    expect(rows.first.get_by_role("link", name=f"Entry {newest} as JSON")).to_have_attribute(
        "href", f"/ledger/{newest}"
    )
    page.locator(".backers tbody tr").first.locator("th a").click()
    expect(page.locator("#verdict .answer")).to_have_attribute("data-status", "positions")
    expect(page.get_by_label("Transaction hash or address")).to_have_value(first)
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Campaign #{cid}")

    # the proof page re-derives the head in the browser
    pledge = moves[0]
    page.locator(".entries").get_by_role("link", name=f"#{pledge['seq']}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Ledger entry #{pledge['seq']}: pledge")
    expect(page.locator(".notice.good")).to_contain_text("The hash chain holds here")
    expect(page.locator(".proof")).to_contain_text(pledge["head"])
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    shoot(page, "entry_proof")


# ------------------------------------------------------------------------------------ verify


def test_verify_a_real_pledge_a_bogus_hash_and_an_address(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/#/verify")
    box = page.get_by_label("Transaction hash or address")
    answer = page.locator("#verdict .answer")
    expect(page.locator("#verdict")).to_have_attribute("aria-live", "polite")

    box.fill(site.pledge_tx)
    page.get_by_role("button", name="Verify").click()
    truth = site.get(f"/verify/tx/{site.pledge_tx}")
    seq = truth["entries"][0]["seq"]
    expect(answer).to_have_attribute("data-status", "success")
    words = answer.inner_text()
    block = f"{truth['block_number']:,}"
    assert words.startswith(
        f"Your pledge of 0.25 ETH to campaign {site.open_id} is in block {block}, final for "
    ), words
    assert re.search(
        rf"final for \d+ blocks?, as ledger entry {seq}, and its head follows from the one before\. ", words
    ), words
    assert words.endswith(
        "The escrow holds your 0.25 ETH until the creator claims a successful campaign or you refund a failed one."
    ), words
    expect(page.locator("#verdict .notice")).to_have_class(re.compile("good"))
    evidence = page.locator("#evidence")
    expect(evidence).to_contain_text(truth["entries"][0]["head"])
    expect(evidence).to_contain_text(truth["entries"][0]["previous_head"])
    expect(evidence.get_by_role("link", name=f"entry #{seq} and its hash chain")).to_have_attribute(
        "href", f"#/entry/{seq}"
    )
    assert f"q={site.pledge_tx}" in page.url
    shoot(page, "verify_pledge")

    # a hash nobody sent
    box.fill("0x" + "ab" * 32)
    box.press("Enter")
    expect(answer).to_have_attribute("data-status", "not_found")
    expect(answer).to_contain_text("Not found: no transaction with the hash")

    # a transaction that reverted
    box.fill(site.reverted_tx)
    box.press("Enter")
    expect(answer).to_have_attribute("data-status", "reverted")
    expect(answer).to_contain_text("it moved no money and the ledger has no entry for it")

    # not a hash at all
    box.fill("hello")
    box.press("Enter")
    expect(page.locator("#verify-error")).to_contain_text("neither a transaction hash")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_be_focused()

    # an address: every campaign it backed and where each stands
    backer = site.chain.accounts[site.pledge_backer]
    box.fill(backer.lower())
    box.press("Enter")
    expect(answer).to_have_attribute("data-status", "positions")
    positions = site.get(f"/backers/{backer}")["data"]
    expect(page.locator(".positions tbody tr")).to_have_count(len(positions))
    expect(answer).to_contain_text(f"backed {len(positions)} campaigns in the ledger indexed up to block ")
    for item in positions:
        expect(
            page.locator(".positions").get_by_role("link", name=f"campaign #{item['campaign']['id']}")
        ).to_be_visible()
    refunded = page.locator(".positions tbody tr").filter(has_text="Refunded")
    expect(refunded.locator(".standing")).to_contain_text(
        "It was paid back to you."
    )  # the failed campaign it took its money back from
    expect(page.locator("#cmd-verify")).to_contain_text(
        f"crowdledger verify --backer {backer.lower()} --rpc "
    )


# ------------------------------------------------------------------------------------ audit


def test_audit_page_reflects_a_tampered_database(site: Site, second_server: Any, page: Any) -> None:
    server = second_server(audit_interval=0.5)
    http = httpx.Client(base_url=server.url, timeout=30)
    first = wait_until(lambda: (a := http.get("/audit").json())["status"] not in ("pending",) and a)
    assert first["status"] == "ok", first

    page.goto(f"{server.url}/#/audit")
    answer = page.locator(".audit-status .answer")
    expect(answer).to_have_attribute("data-status", "ok")
    expect(answer).to_contain_text(f"At block {first['block']}")
    facts = page.locator(".audit-facts")
    expect(facts).to_contain_text(first["onchain_head"])
    expect(facts).to_contain_text("the replay equals the contract")
    # the server's clock and the chain's, both with the year, side by side
    finished = f"{first['finished_at'][:10]} {first['finished_at'][11:16]} UTC by the server\u2019s clock"
    expect(facts).to_contain_text(finished)
    expect(facts).to_contain_text(
        re.compile(r"the chain\u2019s time at block [\d,]+ is 20\d\d-\d\d-\d\d \d\d:\d\d UTC")
    )
    expect(page.locator(".solvency tbody tr")).to_have_count(len(first["solvency"]))
    contract = checksum(site.chain.address.lower())
    command = page.locator("#cmd-online")
    expect(command).to_have_text(f"crowdledger audit --rpc http://127.0.0.1:8545 --contract {contract}")
    page.get_by_label("Your node\u2019s JSON-RPC URL").fill(site.chain.url)
    expect(command).to_have_text(f"crowdledger audit --rpc {site.chain.url} --contract {contract}")
    expect(page.locator("#cmd-offline")).to_contain_text(f"--expect-head {first['onchain_head']}")
    export = page.get_by_role("link", name="NDJSON")
    assert http.get(export.get_attribute("href")).text.count("\n") == first["length"]
    shoot(page, "audit_clean")

    # an insider edits a final entry behind the append-only triggers' back
    store = server.runtime.store
    with store.engine.begin() as conn:
        for statement in trigger_ddl(store.dialect, drop=True):
            conn.execute(text(statement))
        conn.execute(text("UPDATE ledger_entries SET account = :a WHERE seq = 2"), {"a": "0x" + "66" * 20})
    wait_until(lambda: http.get("/audit").json()["status"] == "findings", timeout=30)

    page.get_by_role("button", name="Check for a newer audit").click()
    expect(answer).to_have_attribute("data-status", "findings")
    expect(answer).to_contain_text("The audit found")
    expect(answer).to_contain_text("the problems are in what this server indexed")
    findings = page.locator(".findings tbody tr")
    expect(findings.filter(has_text="db_altered_entry").first).to_contain_text("#2")
    expect(page.locator(".findings").get_by_role("link", name="#2").first).to_have_attribute(
        "href", "#/entry/2"
    )
    http.close()


# ------------------------------------------------------------------------------------ live


def test_a_pledge_made_while_the_page_is_open_appears_on_it(site: Site, page: Any) -> None:
    cid = site.open_id
    page.goto(f"{site.url}/#/campaign/{cid}")
    expect(page.locator(".live-state")).to_have_text("on")
    page.evaluate("window.__notReloaded = true")
    before = site.onchain_pledged(cid)
    rows = page.locator(".entries tbody tr")
    count = rows.count()

    receipt = site.chain.pledge(cid, 7, 2 * ETHER // 10)
    after = site.onchain_pledged(cid)
    assert after == before + 2 * ETHER // 10

    note = page.locator(".live-note")
    expect(note).to_contain_text("New: pledge of 0.2 ETH from")
    expect(page.locator(".summary .total")).to_have_attribute("data-pledged", str(after))
    expect(rows).to_have_count(count + 1)
    tx = "0x" + bytes(receipt["transactionHash"]).hex()
    entry = next(
        e for e in site.get(f"/campaigns/{cid}/ledger", params={"limit": 500})["data"] if e["tx_hash"] == tx
    )
    expect(rows.first.locator("th a")).to_have_text(f"#{entry['seq']}")
    expect(rows.first).to_contain_text("provisional")
    expect(rows.first).to_have_class(re.compile("fresh"))
    expect(note).to_have_attribute("role", "status")
    wait_until(
        lambda: (
            [p for p in chart_points(page, "#pledge-chart")[0]["data"] if not p.get("extend")][-1]["total"]
            == str(after)
        ),
        timeout=10,
    )
    assert page.evaluate("window.__notReloaded") is True


# ------------------------------------------------------------------------------------ stats, phone, keyboard


def test_stats_page_draws_its_charts(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/#/stats")
    stats = site.get("/stats")

    def stat(label: str) -> Any:
        return (
            page.locator(".stat")
            .filter(has=page.locator(".stat-label", has_text=re.compile(f"^{label}$")))
            .locator(".stat-value")
        )

    expect(stat("Campaigns")).to_have_text(str(stats["campaigns"]))
    rate = f"{stats['success_rate'] * 100:.1f}".removesuffix(".0") + "%"
    expect(stat("Success rate")).to_have_text(rate)
    expect(stat("Backers")).to_have_text(str(stats["backers"]))
    doughnut = chart_points(page, "#state-chart")[0]["data"]
    assert sum(doughnut) == stats["campaigns"] and doughnut[0] == stats["campaigns_by_state"]["funding"]
    charts = page.locator("canvas.money-chart")
    expect(charts).to_have_count(len(stats["tokens"]))
    assert len(stats["tokens"]) == 2
    assert painted_pixels(page, "#state-chart") > 3_000
    for token in stats["tokens"]:
        key = "ETH" if int(token["token"], 16) == 0 else token["token"]
        assert painted_pixels(page, f'canvas.money-chart[data-asset="{key}"]') > 2_000, key
    expect(page.locator(".assets tbody tr")).to_have_count(2)


def test_every_total_of_an_asset_chart_is_labelled_in_full(site: Site, screen: Any) -> None:
    """Each asset's chart names all its totals, none cut off at the canvas's edge: Chart.js skips
    every other label of a short box and clips one wider than a third of a phone's width."""
    screen.goto(f"{site.url}/#/stats")
    expect(screen.locator("canvas.money-chart")).to_have_count(2)
    screen.wait_for_function(
        "() => [...document.querySelectorAll('canvas.money-chart')].every(c => Chart.getChart(c))"
    )
    axes = screen.evaluate(
        """() => [...document.querySelectorAll('canvas.money-chart')].map(c => {
            const chart = Chart.getChart(c), y = chart.scales.y;
            return {labels: chart.data.labels.length, ticks: y.ticks.length,
                    widest: y._labelSizes.widest.width, width: y.width};
        })"""
    )
    for axis in axes:
        assert axis["labels"] == 6 and axis["ticks"] == axis["labels"], axis
        assert axis["widest"] <= axis["width"], axis


def test_phone_sized_screens_do_not_overflow(site: Site, phone: Any) -> None:
    backer = site.chain.accounts[site.pledge_backer]
    views = {
        "campaigns": "#/campaigns",
        "campaign": f"#/campaign/{site.open_id}",
        "token_campaign": f"#/campaign/{site.token_id}",
        "verify": f"#/verify?q={site.pledge_tx}",
        "verify_address": f"#/verify?q={backer}",
        "entry": "#/entry/2",
        "audit": "#/audit",
        "stats": "#/stats",
    }
    for name, route in views.items():
        phone.goto(f"{site.url}/{route}")
        expect(phone.locator("main")).to_have_attribute("aria-busy", "false")
        if name.startswith("verify"):
            expect(phone.locator("#verdict .answer")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name} is {width}px wide"
        # nor does any table inside its box: a phone shows each row as a block of labelled lines
        for wrap in phone.locator(".table-wrap").all():
            assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), f"a table of {name} scrolls sideways"
        shoot(phone, f"phone_{name}")
    # the verify-by-address table does not scroll sideways either: its rows are blocks of labelled lines
    phone.goto(f"{site.url}/#/verify?q={backer}")
    wrap = phone.locator(".table-wrap").filter(has=phone.locator(".positions"))
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth")
    # the header row is there for screen readers only: each cell carries its column's name
    assert phone.locator(".positions thead").evaluate("e => e.getBoundingClientRect().height <= 1")
    expect(phone.locator(".positions tbody tr").first.locator("td.held")).to_have_attribute(
        "data-label", "Held for you now"
    )


def test_the_page_has_a_favicon_from_this_server(site: Site, page: Any) -> None:
    icon = site.http.get("/assets/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg") and "<script" not in icon.text
    page.goto(f"{site.url}/#/campaigns")
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", "/assets/favicon.svg")


def test_closed_campaigns_are_not_live_and_not_green(site: Site, screen: Any) -> None:
    """A failed campaign: closed to pledges (no "Live updates: on"), its bar grey whatever share of
    the goal it reached; a claimed one says nothing more can happen; an open one is live."""
    everything = site.get("/campaigns", params={"limit": 100})["data"]
    failed = next(c for c in everything if c["state"] == "failed")
    claimed = next(c for c in everything if c["state"] == "claimed")
    screen.goto(f"{site.url}/#/campaign/{failed['id']}")
    expect(screen.locator(".title-row .badge")).to_have_text("Failed")
    live = screen.locator("p.live")
    expect(live).to_contain_text("This campaign is closed")
    expect(live).not_to_contain_text("Live updates")
    expect(screen.locator(".summary .progress")).to_have_class(re.compile(r"\bended\b"))
    expect(screen.locator(".summary .outcome")).to_have_text("Goal missed \u00b7 backers can refund")
    assert_fits(screen)
    screen.goto(f"{site.url}/#/campaign/{claimed['id']}")
    expect(screen.locator("p.live")).to_have_text(
        "This campaign is closed: the creator was paid, and nothing more can happen to it."
    )
    screen.goto(f"{site.url}/#/campaign/{site.open_id}")
    expect(screen.locator("p.live .live-state")).to_have_text("on")
    assert_fits(screen)


def test_keyboard_and_screen_reader_basics(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/#/campaigns")
    expect(page.locator(".campaign-card").first).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns")
    ).to_have_attribute("aria-current", "page")
    # every form control has a label, every chart a text alternative
    for route in ("#/campaigns", "#/verify", "#/audit", f"#/campaign/{site.open_id}", "#/stats"):
        page.goto(f"{site.url}/{route}")
        expect(page.locator("main")).to_have_attribute("aria-busy", "false")
        unlabeled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.name)"""
        )
        assert unlabeled == [], (route, unlabeled)
        unnamed = page.evaluate(
            "() => [...document.querySelectorAll('canvas')].filter(c => !c.getAttribute('aria-label')).length"
        )
        assert unnamed == 0, route
    # following a link moves focus to the new page's heading, and the title says where we are
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    expect(page).to_have_title("Verify my contribution \u2014 CrowdLedger")


def test_amounts_are_formatted_exactly_at_any_size(site: Site, page: Any) -> None:
    """format.js works on BigInt with each asset's own decimals: uint256 extremes, 1 wei and 1 unit
    of a 6-decimal token come out exact (no parseFloat); untrusted text is cleaned and capped."""
    page.goto(f"{site.url}/#/stats")
    expect(page.locator("main")).to_have_attribute("aria-busy", "false")
    big = 2**256 - 1
    got = page.evaluate(
        """async big => { const f = await import('/assets/js/format.js'); const a = await import('/assets/js/assets.js');
             const usdc = a.assetOf({ token: '0x' + '11'.repeat(20), asset: { address: '0x' + '11'.repeat(20), symbol: 'tUSDC', name: 'Test USD Coin', decimals: 6, assumed: false } });
             return [f.formatUnits(big, {decimals: 18}), f.formatUnits('1', {decimals: 18}), f.formatUnits('1', {decimals: 18, maxFraction: 4}),
                     f.formatUnits('1234567890123456789012', {decimals: 18, maxFraction: 4}), f.formatUnits('999999999999999999', {decimals: 18, maxFraction: 4}),
                     f.percent(big, '1'), f.percent('1', '3'), a.amount('2500000000000000000', a.ETHER),
                     a.amount('1000000000', usdc), a.amount('1', usdc), a.amount('1', usdc, { exact: true }), a.amount('12581250', usdc)]; }""",
        str(big),
    )
    assert got == [
        wei_text(big),
        "0.000000000000000001",
        "<0.0001",
        "1,234.5679",
        "1",
        f"{big * 100:d}",
        "33.3",
        "2.5 ETH",
        "1,000 tUSDC",
        "<0.0001 tUSDC",
        "0.000001 tUSDC",
        "12.5813 tUSDC",
    ]
    cleaned = page.evaluate(
        r"""async () => { const t = await import('/assets/js/text.js');
             return [t.cleanLine('Solar\u0000 kiosk\u202e <b>x</b>\n  two', 80), t.cleanLine('x'.repeat(50), 16), t.cleanLine(42, 16),
                     t.cleanParagraphs('one\u0007\n\n\ntwo\r\nlines'), t.safeUrl('javascript:alert(1)'), t.safeUrl(' https://example.org/a ')]; }"""
    )
    assert cleaned == [
        "Solar kiosk <b>x</b> two",
        "x" * 15 + "\u2026",
        "",
        ["one", "two\nlines"],
        None,
        "https://example.org/a",
    ]
    shoot(page, "stats_after_format_check", full_page=False)
