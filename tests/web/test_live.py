"""The campaign page's live updates (issue 19): it catches up through GET /ledger from the newest
seq it knew before reading the campaign, then opens /ledger/stream from the newest seq it has; a
400 (asked to start too far back) sends it through /ledger again, a 503 makes it wait as
Retry-After says; either way it ends up live, and a pledge made then appears."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.web.conftest import ETHER, Site

expect.set_options(timeout=15_000)


def ledger_requests(page: Any) -> list[tuple[str, dict[str, list[str]]]]:
    """The page's /ledger and /ledger/stream requests, in order, with their query strings."""
    seen: list[tuple[str, dict[str, list[str]]]] = []

    def record(request: Any) -> None:
        url = urlsplit(request.url)
        if url.path in ("/ledger", "/ledger/stream"):
            seen.append((url.path, parse_qs(url.query)))

    page.on("request", record)
    return seen


def test_the_page_catches_up_through_the_ledger_before_opening_the_stream(site: Site, page: Any) -> None:
    """The page learns the newest seq from /health before it reads the campaign; here /health is
    made to answer three entries short, as if they were indexed while the page loaded: the page
    reads them from /ledger?after= and opens the stream after the newest."""
    health = site.get("/health")
    newest = health["entries"]
    page.route(
        "**/health",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({**health, "entries": newest - 3})
        ),
    )
    seen = ledger_requests(page)
    page.goto(f"{site.url}/#/campaign/{site.open_id}")
    expect(page.locator(".live-state")).to_have_text("on")
    assert seen[0] == ("/ledger", {"after": [str(newest - 3)], "limit": ["500"]}), seen
    streams = [query for path, query in seen if path == "/ledger/stream"]
    assert streams and streams[0]["after"] == [str(newest)], seen
    assert seen.index(("/ledger/stream", streams[0])) > 0


def test_a_busy_stream_is_retried_after_the_wait_it_asks_for(site: Site, page: Any) -> None:
    answers = iter([503])

    def stream(route: Any) -> None:
        status = next(answers, None)
        if status is None:
            route.continue_()
        else:
            route.fulfill(
                status=status,
                headers={"Retry-After": "1"},
                content_type="application/json",
                body=json.dumps({"detail": "too many streams are open; try again in 1 s"}),
            )

    page.route(re.compile(r".*/ledger/stream\?.*"), stream)
    seen = ledger_requests(page)
    page.goto(f"{site.url}/#/campaign/{site.open_id}")
    expect(page.locator(".live-state")).to_have_attribute("data-state", "busy")
    expect(page.locator(".live-state")).to_contain_text("busy")
    expect(page.locator(".live-state")).to_have_text("on")
    assert [path for path, _ in seen].count("/ledger/stream") == 2
    # and it is really live: a pledge made now appears
    site.chain.pledge(site.open_id, 6, ETHER // 100)
    expect(page.locator(".live-note")).to_contain_text("New: pledge of 0.01 ETH from")


def test_a_stream_refused_as_too_far_back_sends_the_page_through_the_ledger_again(
    site: Site, page: Any
) -> None:
    answers = iter([400])

    def stream(route: Any) -> None:
        status = next(answers, None)
        if status is None:
            route.continue_()
        else:
            route.fulfill(
                status=status,
                content_type="application/json",
                body=json.dumps(
                    {"detail": "the stream replays at most 1000 entries: read /ledger?after= first"}
                ),
            )

    page.route(re.compile(r".*/ledger/stream\?.*"), stream)
    seen = ledger_requests(page)
    page.goto(f"{site.url}/#/campaign/{site.open_id}")
    expect(page.locator(".live-state")).to_have_text("on")
    paths = [path for path, _ in seen]
    assert paths[:4] == ["/ledger", "/ledger/stream", "/ledger", "/ledger/stream"], seen
