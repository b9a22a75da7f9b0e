"""The local demo behind `crowdledger up`: anvil started half a year in the past, the escrow and
the demo tokens deployed, the demo seeded (devnet.seed: the settled past, then the live
campaigns, ending about now), indexed into a SQLite file, its documents published, and the one
default deployment file written, so that the commands the banner prints work as printed.

    chain = start_chain(port)                 # anvil, its genesis DEMO_CHAIN_AGE ago
    demo = prepare(chain.url, data_dir, backers=300, seed=7)
    print(demo.banner(api_url))

The deployment file is the default one (`CROWDLEDGER_DEPLOYMENT`, else deployments/local.json):
it names the node, the escrow, its tokens and, as `db_url`, the demo's database, so every command
run in the same folder afterwards (`crowdledger verify --tx HASH`, `audit`, `export`, `publish`)
reads the demo without a flag (cli/settings.py).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.settings import deployment_file, resolve

if TYPE_CHECKING:
    from devnet.nodes import LocalNode
    from devnet.summary import SeedSummary
    from ledger.chain.deployment import Deployment

DB_FILE = "demo.db"


def start_chain(port: int) -> LocalNode:
    """anvil on 127.0.0.1:`port`, its clock devnet.seed.DEMO_CHAIN_AGE behind the wall clock: the
    seeding's jump over half a year then ends about now."""
    from devnet.nodes import LocalNode
    from devnet.seed import DEMO_CHAIN_AGE

    return LocalNode.start("anvil", port=port, genesis_age=DEMO_CHAIN_AGE)


def demo_database(data_dir: Path) -> tuple[Path, str]:
    """The demo's SQLite file in `data_dir` (created), emptied: a new chain every time, so a new
    database. Returns (path, URL)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / DB_FILE).resolve()
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    return path, f"sqlite:///{path}"


def write_deployment(deployment: Deployment, path: Path, db_url: str) -> Path:
    """The deployment file with the database the demo indexed it into (`db_url`), written whole
    or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({**asdict(deployment), "db_url": db_url}, indent=2) + "\n")
    tmp.replace(path)
    return path


@dataclass
class Demo:
    """A seeded, indexed demo: what the banner and the server need."""

    rpc_url: str
    deployment: Deployment
    deployment_path: Path
    db_url: str
    db_path: Path
    summary: SeedSummary
    published: dict[int, int] = field(default_factory=dict)  # HTTP-like status: documents
    example: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # phase: seconds it took
    bare: bool = False  # whether a command run in this folder with no flag reads this demo (reads_demo)

    def banner(self, api: str) -> str:
        """What `crowdledger up` prints once the API listens: where everything is, how to pledge
        yourself, and the commands that check the demo (which work as printed in this folder)."""
        d = self.deployment
        lines = [
            "",
            "CrowdLedger is up",
            f"  API              {api}            (interactive docs: {api}/docs)",
            f"  page             {api}/#/campaigns",
            f"  live ledger      curl -N {api}/ledger/stream",
            f"  audit, health    {api}/audit   {api}/health   {api}/metrics",
            f"  node (anvil)     {self.rpc_url}   (chain id {d.chain_id})",
            f"  CrowdfundEscrow  {d.address}   (block {d.block})",
        ]
        for symbol, address in d.tokens.items():
            lines.append(f"  {symbol:<16} {address}")
        lines.append(f"  database         {self.db_url}")
        lines.append(
            f"  deployment file  {self.deployment_path}   (node, escrow and database for every command)"
        )
        pledge = self.example.get("pledge")
        if pledge:
            body = json.dumps(pledge["body"], separators=(",", ":"))
            lines += [
                "",
                f"Pledge 0.1 ETH to campaign {pledge['campaign_id']} yourself (anvil signs for its dev accounts):",
                f"  curl -s -H 'Content-Type: application/json' --data '{body}' {self.rpc_url}",
                f"then watch it arrive: {api}/#/campaign/{pledge['campaign_id']} and the stream above.",
            ]
        lines += [
            "",
            f"Check it yourself, from this folder ({self.deployment_path} says where everything is):",
        ]
        lines += [f"  {command}   # {what}" for command, what in self.commands(api)]
        lines += ["", "Press Ctrl-C to stop (the API, the follower, the auditor and anvil)."]
        return "\n".join(lines)

    def commands(self, api: str) -> list[tuple[str, str]]:
        """(command, what it shows): the checks the banner offers. Bare when a command run here
        reads the demo's settings (the deployment file, no CROWDLEDGER_* variable saying
        otherwise), else with the flags that name the demo."""
        flags = (
            ""
            if self.bare
            else f" --rpc {self.rpc_url} --contract {self.deployment.address} --db {self.db_url}"
        )
        db_flag = "" if self.bare else f" --db {self.db_url}"
        tx, backer = self.example.get("tx"), self.example.get("backer")
        found: list[tuple[str, str]] = []
        if tx:
            found.append(
                (f"crowdledger verify --tx {tx}{flags}", "a pledge: its entries on-chain and as indexed")
            )
        if backer:
            found.append(
                (f"crowdledger verify --backer {backer}{flags}", "that backer's money, against pledgeOf")
            )
        found += [
            (f"crowdledger audit{flags}", "the whole ledger replayed from the chain, and the database"),
            (f"crowdledger export{db_flag} --out ledger.ndjson", "every entry, for an offline audit"),
            (f"crowdledger publish FILE --api {api}", "a document the ledger commits to"),
        ]
        return found

    def reads_demo(self) -> bool:
        """Whether a command run in the working folder with no flag reads this demo."""
        try:
            settings = resolve(argparse.Namespace(), "rpc_url", "db_url")
        except Exception:  # noqa: BLE001 - a variable that does not parse: give the flags
            return False
        return (
            settings.rpc_url == self.rpc_url
            and (settings.contract or "").lower() == self.deployment.address.lower()
            and settings.db_url == self.db_url
        )


def prepare(rpc_url: str, data_dir: Path, *, backers: int, seed: int, finality_depth: int = 12) -> Demo:
    """Deploy, seed, index, publish the documents and write the deployment file."""
    from devnet.deploy import NodeAccount, connect, deploy_escrow
    from devnet.seed import seed_demo
    from devnet.tokens import deploy_demo_tokens

    seconds: dict[str, float] = {}
    started = time.monotonic()
    db_path, db_url = demo_database(data_dir)
    w3 = connect(rpc_url)
    accounts = list(w3.eth.accounts)
    owner = NodeAccount(accounts[0])
    tokens = deploy_demo_tokens(w3, owner)
    deployment = deploy_escrow(w3, owner, fee_recipient=accounts[1], tokens=tokens, rpc_url=rpc_url)
    seconds["deploy"] = time.monotonic() - started
    print(f"deployed CrowdfundEscrow at {deployment.address}; seeding {backers} backers ...", flush=True)
    mark = time.monotonic()
    summary = seed_demo(w3, deployment, backers=backers, sender=owner, seed=seed)
    seconds["seed"] = time.monotonic() - mark
    print(summary.describe(), flush=True)
    print("indexing ...", flush=True)
    mark = time.monotonic()
    index(rpc_url, db_url, deployment, finality_depth)
    seconds["index"] = time.monotonic() - mark
    mark = time.monotonic()
    published = publish(db_url, summary.documents)
    seconds["publish"] = time.monotonic() - mark
    path, _ = deployment_file(argparse.Namespace())
    write_deployment(deployment, path, db_url)
    demo = Demo(rpc_url, deployment, path, db_url, db_path, summary, published, seconds=seconds)
    demo.example = examples(db_url, deployment.address, accounts[2], rpc_url)
    demo.bare = demo.reads_demo()
    stored = published.get(201, 0) + published.get(200, 0)
    print(
        f"published {stored} of {len(summary.documents)} documents; wrote {path} "
        f"(seeding took {seconds['seed']:.1f} s, indexing {seconds['index']:.1f} s)",
        flush=True,
    )
    return demo


def index(rpc_url: str, db_url: str, deployment: Deployment, finality_depth: int) -> None:
    from ledger.chain.rpc import RpcClient
    from ledger.db.engine import open_database
    from ledger.db.store import LedgerStore
    from ledger.sync.indexer import Indexer
    from ledger.sync.progress import Progress

    store = LedgerStore(open_database(db_url))
    with RpcClient(rpc_url) as rpc:
        Indexer(
            rpc,
            store,
            deployment.address,
            start_block=deployment.block,
            finality_depth=finality_depth,
            progress=Progress(quiet=True),
        ).run()
    store.engine.dispose()


def publish(db_url: str, documents: list[tuple[str, bytes]]) -> dict[int, int]:
    """Store the seeding's documents as `crowdledger publish --db` does (the API's checks, in its
    order); a count of the outcomes by status (201 stored, 200 already there, 404 not committed)."""
    from cli.publish import store_checked
    from ledger.db.engine import open_database

    engine = open_database(db_url)
    outcomes: dict[int, int] = {}
    try:
        for digest, body in documents:  # metadata first: a picture is committed by the metadata naming it
            status = store_checked(engine, digest, body).status
            outcomes[status] = outcomes.get(status, 0) + 1
    finally:
        engine.dispose()
    return outcomes


def examples(db_url: str, escrow: str, backer: str, rpc_url: str) -> dict[str, Any]:
    """From the indexed demo: the newest pledge's transaction and backer (for `verify`), and a
    ready eth_sendTransaction that pledges 0.1 ETH to a funding ETH campaign."""
    from sqlalchemy import create_engine, text

    from ledger.core.addresses import checksum
    from ledger.core.hashing import keccak256

    engine = create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT c.campaign_id FROM campaigns c, sync_state s WHERE s.id = 1 AND c.token = :eth "
                "AND NOT c.cancelled AND NOT c.claimed AND c.deadline > s.tip_timestamp + 3600 "
                "AND c.max_per_backer = :zero ORDER BY c.campaign_id LIMIT 1"
            ),
            {"eth": "0x" + "00" * 20, "zero": "0" * 78},
        ).first()
        pledged = conn.execute(
            text("SELECT tx_hash, account FROM ledger_entries WHERE kind = 2 ORDER BY seq DESC LIMIT 1")
        ).first()
    engine.dispose()
    found: dict[str, Any] = {}
    if pledged is not None:
        found["tx"], found["backer"] = str(pledged[0]), checksum(str(pledged[1]))
    if row is not None:
        campaign_id, amount = int(row[0]), 10**17
        selector = keccak256(b"pledge(uint256,uint256)")[:4]
        data = "0x" + (selector + campaign_id.to_bytes(32, "big") + amount.to_bytes(32, "big")).hex()
        tx = {"from": backer, "to": escrow, "value": hex(amount), "data": data}
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [tx]}
        found["pledge"] = {"campaign_id": campaign_id, "amount": amount, "body": body}
    return found
