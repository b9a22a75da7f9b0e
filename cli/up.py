"""`crowdledger up`: the whole system on a local chain in one command. anvil on 127.0.0.1:8545,
the escrow and the demo token deployed, a realistic demo seeded (devnet/), indexed into a SQLite
file, and the API on http://127.0.0.1:8000 with the follower and the auditor; Ctrl-C stops
everything. With --rpc/--contract/--db it attaches to an existing chain instead (cli/serve.py).

The demo compiles contracts/ and runs anvil from node_modules/, so it needs a CrowdLedger
checkout; an installed wheel elsewhere fails with one line saying what is missing.
"""

from __future__ import annotations

import argparse
import json
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.serve import Stop, attach, check_port_free, raise_stop, serve_app, settings_for
from ledger.errors import ConfigError

if TYPE_CHECKING:
    from ledger.chain.deployment import Deployment


def run(args: argparse.Namespace) -> int:
    if args.rpc or args.contract or args.db or args.deployment:
        return attach(args)
    return demo(args)


def demo(args: argparse.Namespace) -> int:
    """Start anvil, deploy, seed, index, then serve until Ctrl-C or SIGTERM; anvil stops with it."""
    from devnet.artifacts import load_artifact
    from devnet.checkout import require_checkout
    from devnet.nodes import LocalNode, rpc_ready

    require_checkout()
    load_artifact("CrowdfundEscrow")  # compiled (or read from the cache) before anything starts
    anvil_url = f"http://127.0.0.1:{args.anvil_port}"
    if rpc_ready(anvil_url, timeout=0.5):
        raise ConfigError(
            f"a node already answers at {anvil_url}: stop it, pass --anvil-port, or attach with --rpc"
        )
    check_port_free(args.host, args.port)
    data = Path(args.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    db_path = data / "demo.db"
    for stale in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)  # a demo chain is new every time: so is its database
    db_url = f"sqlite:///{db_path.resolve()}"

    print(f"starting anvil on {anvil_url} ...", flush=True)
    node = LocalNode.start("anvil", port=args.anvil_port)
    previous = signal.signal(signal.SIGTERM, raise_stop)
    try:
        deployment, pledge = _deploy_seed_index(node.url, db_url, data, args)
        settings = settings_for(
            args,
            db_url=db_url,
            rpc_url=node.url,
            contract=deployment.address,
            start_block=deployment.block,
            follow=True,
        )

        def ready() -> None:
            print(_up_banner(args, node.url, deployment, db_path, pledge), flush=True)

        return serve_app(settings, args.host, args.port, args.log_level, on_ready=ready)
    except (KeyboardInterrupt, Stop):
        print("\ninterrupted", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        print("stopping anvil ...", flush=True)
        node.stop()


def _deploy_seed_index(
    rpc_url: str, db_url: str, data: Path, args: argparse.Namespace
) -> tuple[Deployment, dict[str, Any]]:
    from devnet.deploy import DEMO_TOKEN_SYMBOL, NodeAccount, connect, deploy_escrow, deploy_token
    from devnet.seed import seed_demo
    from ledger.chain.rpc import RpcClient
    from ledger.db.engine import open_database
    from ledger.db.store import LedgerStore
    from ledger.sync.indexer import Indexer
    from ledger.sync.progress import Progress

    w3 = connect(rpc_url)
    accounts = list(w3.eth.accounts)
    owner = NodeAccount(accounts[0])
    token = deploy_token(w3, owner)
    deployment = deploy_escrow(
        w3, owner, fee_recipient=accounts[1], tokens={DEMO_TOKEN_SYMBOL: token.address}, rpc_url=rpc_url
    )
    deployment.write(data / "deployment.json")
    print(f"deployed CrowdfundEscrow at {deployment.address}; seeding {args.backers} backers ...", flush=True)
    summary = seed_demo(w3, deployment, backers=args.backers, sender=owner, seed=args.seed)
    print(summary.describe(), flush=True)
    print("indexing ...", flush=True)
    store = LedgerStore(open_database(db_url))
    with RpcClient(rpc_url) as rpc:
        depth = 12 if args.finality_depth is None else args.finality_depth
        Indexer(
            rpc,
            store,
            deployment.address,
            start_block=deployment.block,
            finality_depth=depth,
            progress=Progress(quiet=True),
        ).run()
    store.engine.dispose()
    return deployment, _pledge_example(rpc_url, deployment.address, accounts[2], db_url)


def _pledge_example(rpc_url: str, escrow: str, backer: str, db_url: str) -> dict[str, Any]:
    """A ready eth_sendTransaction that pledges 0.1 ETH to a funding ETH campaign."""
    from sqlalchemy import create_engine, text

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
    engine.dispose()
    if row is None:
        return {}
    campaign_id, amount = int(row[0]), 10**17
    selector = keccak256(b"pledge(uint256,uint256)")[:4]
    data = "0x" + (selector + campaign_id.to_bytes(32, "big") + amount.to_bytes(32, "big")).hex()
    tx = {"from": backer, "to": escrow, "value": hex(amount), "data": data}
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [tx]}
    return {"campaign_id": campaign_id, "amount": amount, "body": body, "rpc_url": rpc_url}


def _up_banner(
    args: argparse.Namespace, rpc_url: str, deployment: Deployment, db_path: Path, pledge: dict[str, Any]
) -> str:
    api = f"http://{args.host}:{args.port}"
    lines = [
        "",
        "CrowdLedger is up",
        f"  API              {api}            (interactive docs: {api}/docs)",
        f"  campaigns        {api}/campaigns",
        f"  live ledger      curl -N {api}/ledger/stream",
        f"  audit, health    {api}/audit   {api}/health   {api}/metrics",
        f"  node (anvil)     {rpc_url}   (chain id {deployment.chain_id})",
        f"  CrowdfundEscrow  {deployment.address}   (block {deployment.block})",
    ]
    for symbol, address in deployment.tokens.items():
        lines.append(f"  {symbol:<16} {address}")
    lines.append(f"  database         sqlite:///{db_path.resolve()}")
    if pledge:
        body = json.dumps(pledge["body"], separators=(",", ":"))
        lines += [
            "",
            f"Pledge 0.1 ETH to campaign {pledge['campaign_id']} yourself (anvil signs for its dev accounts):",
            f"  curl -s -H 'Content-Type: application/json' --data '{body}' {pledge['rpc_url']}",
            f"then watch it arrive: {api}/campaigns/{pledge['campaign_id']} and the stream above.",
        ]
    lines += ["", "Press Ctrl-C to stop (the API, the follower, the auditor and anvil)."]
    return "\n".join(lines)
