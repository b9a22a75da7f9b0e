"""The libraries the page and /docs use come from node_modules through this process, never from a
CDN: Keccak-256 from @noble/hashes (the entry page re-derives heads with it), Swagger UI from
swagger-ui-dist (/docs works offline)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Site

expect.set_options(timeout=15_000)

KECCAK_EMPTY = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
KECCAK_ABC = "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"


def test_the_page_hashes_with_noble_and_re_derives_every_kind_of_head(site: Site, page: Any) -> None:
    """proof.js (keccak_256 of @noble/hashes) gives Keccak-256's known answers, and the head the
    API serves for entries of every kind the history holds, from the head before each."""
    sha3 = site.http.get("/vendor/noble-hashes/sha3.js")
    assert sha3.status_code == 200 and sha3.headers["content-type"].startswith("text/javascript")
    assert "keccak_256" in sha3.text
    for missing in ("/vendor/noble-hashes/../chart.js/package.json", "/vendor/noble-hashes/src/.hidden",
                    "/vendor/noble-hashes/sha3.d.ts", "/vendor/left-pad/index.js"):  # fmt: skip
        assert site.http.get(missing).status_code == 404, missing
    entries = {}
    for entry in site.get("/ledger", params={"limit": 500})["data"]:
        entries.setdefault(entry["kind"], entry)
    assert len(entries) >= 4, sorted(entries)
    details = [site.get(f"/ledger/{entry['seq']}") for entry in entries.values()]
    page.goto(f"{site.url}/#/campaigns")
    expect(page.locator("main")).to_have_attribute("aria-busy", "false")
    got = page.evaluate(
        """async entries => {
             const { keccak_256 } = await import('/vendor/noble-hashes/sha3.js');
             const { bytesToHex } = await import('/vendor/noble-hashes/utils.js');
             const { expectedHead } = await import('/assets/js/proof.js');
             const hex = (bytes) => '0x' + bytesToHex(keccak_256(bytes));
             return [hex(new Uint8Array()), hex(new TextEncoder().encode('abc')),
                     ...entries.map((e) => expectedHead(e, e.previous_head))]; }""",
        details,
    )
    assert got == [KECCAK_EMPTY, KECCAK_ABC, *(entry["head"] for entry in details)]


def test_docs_load_swagger_ui_from_this_server(site: Site, page: Any) -> None:
    """/docs references only this server's files, each of which answers; in a browser that may not
    reach anything else, Swagger UI draws every operation of /openapi.json."""
    docs = site.http.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "//" not in re.sub(r"<!--.*?-->", "", docs.text).replace("window.location.origin", "")
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", docs.text) + re.findall(
        r"url: '([^']+)'", docs.text
    )
    assert {
        "/vendor/swagger-ui/swagger-ui-bundle.js",
        "/vendor/swagger-ui/swagger-ui.css",
        "/openapi.json",
    } <= set(assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        assert site.http.get(asset).status_code == 200, asset
    assert site.http.get("/redoc").status_code == 404  # ReDoc would load from a CDN: it is off

    page.goto(f"{site.url}/docs")  # the page fixture fails the test on any request that leaves 127.0.0.1
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CrowdLedger API")
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    operations = sum(len(methods & set(item)) for item in site.get("/openapi.json")["paths"].values())
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".opblock-summary-path").filter(has_text="/ledger/{seq}")).to_have_count(1)
