"""Fixtures for the web page's tests: a real anvil with an escrow and a known history, indexed by
the real indexer into SQLite, served by the API process (create_app, with a follower so new
entries arrive live) under uvicorn on a free port, and a headless Chromium driven by Playwright.

The shared site (`site`) is built once per session; the tampering test copies its database and
serves the copy from a second server so the shared one stays clean.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.core.config import Settings
from api.main import create_app
from devnet.deploy import NodeAccount, transact
from ledger.chain.rpc import RetryPolicy, RpcClient
from ledger.db.engine import open_database
from ledger.db.store import LedgerStore
from ledger.sync.indexer import Indexer
from tests.support.chain import EscrowChain
from tests.support.server import LiveServer
from tests.web.world import World, build_world

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FINALITY = 3
FAST_RETRY = RetryPolicy(attempts=20, base_delay=0.01, max_delay=0.2, total_timeout=20)
ETHER = 10**18


@dataclass
class Site:
    """The chain, its indexed database, the server, and what the tests need to know about them."""

    chain: EscrowChain
    db_path: Path
    server: LiveServer
    http: httpx.Client
    open_id: int  # an ETH campaign still funding (the live test pledges to it)
    token_id: int  # a token campaign still funding
    pledge_tx: str  # a pledge to open_id, final
    pledge_amount: int
    pledge_backer: int
    reverted_tx: str
    states: dict[int, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.http.get(path, **kwargs)
        response.raise_for_status()
        return response.json()

    def onchain_pledged(self, campaign_id: int) -> int:
        return int(self.chain.escrow.functions.getCampaign(campaign_id).call()[7])


def build_history(chain: EscrowChain) -> dict[str, Any]:
    """Campaigns in every state, in both assets, with pledges, unpledges, a claim and refunds."""
    token = chain.token.address
    # short campaigns that end before the page looks at them
    won = chain.create(1, goal=ETHER, duration=900)
    chain.pledge(won, 2, 6 * ETHER // 10)
    chain.pledge(won, 3, 5 * ETHER // 10)
    won_token = chain.create(2, goal=2 * ETHER, duration=900, token=token)
    chain.pledge(won_token, 4, 25 * ETHER // 10)
    lost = chain.create(2, goal=5 * ETHER, duration=900)
    chain.pledge(lost, 2, ETHER)
    chain.pledge(lost, 5, 2 * ETHER)
    kept = chain.create(1, goal=5 * ETHER, duration=900, keep_it_all=True)
    chain.pledge(kept, 6, 15 * ETHER // 10)
    cancelled = chain.create(1, goal=ETHER, duration=900)
    chain.pledge(cancelled, 3, 3 * ETHER // 10)
    chain.cancel(cancelled, 1)
    chain.sleep(1000)
    chain.claim(won, 1)
    chain.claim(kept, 1)
    chain.refund(lost, 2)
    chain.refund(cancelled, 3)
    chain.withdraw_fees()
    # campaigns still open
    open_id = chain.create(1, goal=2 * ETHER, duration=7200, cap=3 * ETHER)
    receipt = chain.pledge(open_id, 2, 25 * ETHER // 100)
    chain.pledge(open_id, 3, 4 * ETHER // 10)
    chain.pledge(open_id, 4, ETHER // 10)
    chain.sleep(60)
    chain.unpledge(open_id, 4, ETHER // 20)
    chain.pledge(open_id, 5, 35 * ETHER // 100)
    token_id = chain.create(2, goal=10 * ETHER, duration=10800, token=token)
    chain.pledge(token_id, 6, 3 * ETHER)
    chain.pledge(token_id, 7, 12345 * ETHER // 10000)
    chain.create(1, goal=ETHER, duration=3600)  # nobody has backed this one yet
    # a pledge that reverts on-chain (the campaign is over): mined, with no ledger entry
    reverted = transact(
        chain.w3,
        NodeAccount(chain.accounts[2]),
        chain.escrow.functions.pledge(lost, ETHER),
        value=ETHER,
        gas=300_000,
        wait=False,
    )
    chain.w3.eth.wait_for_transaction_receipt(reverted)
    chain.mine(FINALITY + 3)
    return {
        "open_id": open_id,
        "token_id": token_id,
        "pledge_tx": "0x" + bytes(receipt["transactionHash"]).hex(),
        "pledge_amount": 25 * ETHER // 100,
        "pledge_backer": 2,
        "reverted_tx": "0x" + bytes(reverted).hex(),
    }


def index(chain: EscrowChain, db_url: str) -> None:
    store = LedgerStore(open_database(db_url))
    try:
        rpc = RpcClient(chain.url, retry=FAST_RETRY)
        Indexer(
            rpc,
            store,
            chain.address,
            start_block=chain.deployment.block,
            finality_depth=FINALITY,
            poll_interval=0.1,
        ).run()
        rpc.close()
    finally:
        store.engine.dispose()


def settings_for(chain: EscrowChain, db_url: str, **overrides: Any) -> Settings:
    values = {
        "db_url": db_url,
        "rpc_url": chain.url,
        "finality_depth": FINALITY,
        "poll_interval": 0.1,
        "stream_poll_interval": 0.05,
        "audit_interval": 3600,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    chain = EscrowChain.start()
    try:
        facts = build_history(chain)
        folder = tmp_path_factory.mktemp("web")
        db_path = folder / "web.db"
        db_url = f"sqlite:///{db_path}"
        index(chain, db_url)
        server = LiveServer.start(create_app(settings_for(chain, db_url, follow=True)))
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                yield Site(chain, db_path, server, http, **facts)
        finally:
            server.stop()
    finally:
        chain.stop()


@dataclass
class WorldSite:
    """tests/web/world.py's history, indexed and served, with its documents published."""

    world: World
    server: LiveServer
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ids(self) -> dict[str, int]:
        return self.world.ids

    @property
    def chain(self) -> EscrowChain:
        return self.world.chain

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldSite]:
    chain = EscrowChain.start()
    try:
        history = build_world(chain)
        chain.mine(FINALITY + 3)
        db_url = f"sqlite:///{tmp_path_factory.mktemp('world') / 'world.db'}"
        index(chain, db_url)
        server = LiveServer.start(create_app(settings_for(chain, db_url, follow=True)))
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for digest, body in history.documents.items():  # the metadata before the picture it names
                    answer = http.put(f"/documents/{digest}", content=body)
                    assert answer.status_code in (200, 201), (digest, answer.status_code, answer.text)
                yield WorldSite(history, server, http)
        finally:
            server.stop()
    finally:
        chain.stop()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the backup API, not a file copy)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


@pytest.fixture
def second_server(site: Site, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start extra servers on copies of the site's database; stopped after the test."""
    started: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        path = tmp_path / f"copy-{len(started)}.db"
        copy_database(site.db_path, path)
        server = LiveServer.start(create_app(settings_for(site.chain, f"sqlite:///{path}", **overrides)))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# ------------------------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"the web tests need Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# API answers whose 404 the page turns into a message (Chromium logs every failed fetch as an error)
API_NOT_FOUND = ("/verify/tx/", "/campaigns/", "/ledger/", "/backers/", "/documents/", "/credits/")


class PageProblems(list):
    """Console errors, uncaught exceptions and any request that left 127.0.0.1."""


def open_page(browser: Any, problems: PageProblems, viewport: dict[str, int]) -> tuple[Any, Any]:
    context = browser.new_context(viewport=viewport, device_scale_factor=1, reduced_motion="reduce")
    page = context.new_page()
    page.set_default_timeout(15_000)

    def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            problems.append(f"external request: {route.request.url}")
            route.abort()

    def console(message: Any) -> None:
        if message.type != "error":
            return
        where = urlsplit(message.location.get("url") or "").path
        if "status of 404" in message.text and where.startswith(API_NOT_FOUND):
            return  # the API's "no such transaction/campaign/entry": the page shows it as an answer
        if where == "/ledger/stream" and re.search(r"status of (400|503)\b", message.text):
            return  # "start from /ledger first" and "too many streams": live.js catches up or waits
        problems.append(f"console {message.type}: {message.text} ({message.location.get('url')})")

    page.route("**/*", guard)
    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return context, page


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh desktop-sized tab; the test fails on any console error or external request, and
    leaves a screenshot at artifacts/screenshots/<test>.png."""
    problems = PageProblems()
    context, page = open_page(browser, problems, {"width": 1280, "height": 900})
    page.problems = problems
    yield page
    shoot(page, request.node.name)
    context.close()
    assert not problems, problems


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A phone-sized tab (390 x 844)."""
    problems = PageProblems()
    context, page = open_page(browser, problems, {"width": 390, "height": 844})
    page.problems = problems
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture(params=[1280, 390], ids=["1280", "390"])
def screen(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A tab at a desktop width (1280 x 900) and, in the test's second run, a phone's (390 x 844);
    `screen.width` says which. Fails on console errors and external requests, and leaves a
    screenshot at artifacts/screenshots/<test>-<width>.png."""
    width = request.param
    problems = PageProblems()
    context, page = open_page(browser, problems, {"width": width, "height": 900 if width > 500 else 844})
    page.problems = problems
    page.width = width
    yield page
    shoot(page, request.node.name)
    context.close()
    assert not problems, problems


def assert_fits(page: Any) -> None:
    """Nothing on the page scrolls sideways: the document is no wider than the window."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"the page is {width}px wide in a {inner}px window"


def shoot(page: Any, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name.replace('[', '-').replace(']', '')}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def eth(amount: int) -> str:
    """What the page shows for an amount in wei at full precision (format.js formatUnits)."""
    whole, frac = divmod(amount, 10**18)
    text = f"{whole:,}" + (f".{frac:018d}".rstrip("0") if frac else "")
    return text
