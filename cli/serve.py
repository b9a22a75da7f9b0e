"""`crowdledger up` and `crowdledger serve` (cli/main.py wires them in).

    crowdledger up       a whole local demo in one command: anvil on 127.0.0.1:8545, the escrow
                         deployed, a realistic demo seeded, indexed into a SQLite file, and the API
                         on http://127.0.0.1:8000 with the follower and the auditor; Ctrl-C stops
                         everything. With --rpc/--contract/--db it attaches to an existing chain.
    crowdledger serve    the production shape: API + follower + auditor against --rpc/--contract
                         (or a deployment file) and --db (PostgreSQL or SQLite).

Settings not given as options come from CROWDLEDGER_* variables (api/core/config.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from api.core.config import Settings
from cli.main import non_negative

log = logging.getLogger("cli.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_ANVIL_PORT = 8545
DEFAULT_DATA_DIR = ".crowdledger-demo"


class _Stop(Exception):
    """SIGTERM, turned into an exception so that everything shuts down in order."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop


# ============================================================================ options


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (1-65535)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _add_common(parser: argparse.ArgumentParser, *, audit_interval: float) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to serve on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"API port (default {DEFAULT_PORT})")
    parser.add_argument("--rpc", help="JSON-RPC URL of an Ethereum node")
    parser.add_argument("--contract", help="address of the CrowdfundEscrow")
    parser.add_argument("--deployment", help="deployment file giving --rpc and --contract (scripts/deploy.py writes it)")
    parser.add_argument("--db", help="database URL: sqlite:///file.db or postgresql+psycopg://user:pass@host/db")
    parser.add_argument("--from-block", type=non_negative, help="first block to index (default: the deployment's)")
    parser.add_argument("--finality-depth", type=non_negative, default=None,
                        help="blocks below the tip after which entries are final (default 12)")
    parser.add_argument("--poll-interval", type=_seconds, default=None, help="seconds between the follower's polls")
    parser.add_argument("--audit-interval", type=_seconds, default=None,
                        help=f"seconds between audits, 0 = no auditor (default {audit_interval:g})")
    parser.set_defaults(default_audit_interval=audit_interval)
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"],
                        help="server log level (default warning)")


def add_serve_args(parser: argparse.ArgumentParser) -> None:
    """The options of `crowdledger serve`."""
    _add_common(parser, audit_interval=300.0)
    parser.add_argument("--no-follow", action="store_true",
                        help="do not index in this process (another runs `crowdledger index --follow`)")


def add_up_args(parser: argparse.ArgumentParser) -> None:
    """The options of `crowdledger up`."""
    _add_common(parser, audit_interval=30.0)
    parser.add_argument("--anvil-port", type=_port, default=DEFAULT_ANVIL_PORT,
                        help=f"port of the local anvil (default {DEFAULT_ANVIL_PORT})")
    parser.add_argument("--backers", type=int, default=300, help="demo backers to seed (default 300)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the demo data (default 7)")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help=f"where the demo keeps its database and deployment file (default {DEFAULT_DATA_DIR}/)")


# ============================================================================ serving


def serve_app(settings: Settings, host: str, port: int, log_level: str, on_ready: Any = None) -> int:
    """Run the API with uvicorn until Ctrl-C or SIGTERM; 0 after a clean shutdown."""
    import uvicorn

    from api.main import create_app

    app = create_app(settings)
    # open event streams would hold a graceful shutdown forever: give them a few seconds
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on", ws="none",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            await original(sockets)
            if server.started:
                on_ready()

        server.startup = startup  # type: ignore[method-assign]
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        server.run()
    except (KeyboardInterrupt, _Stop):  # uvicorn re-raises the signal it shut down for
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not server.started:
        from ledger.errors import ConfigError

        raise ConfigError(f"the API could not start on {host}:{port} (is the port in use?)")
    return 0


def _settings(args: argparse.Namespace, **values: Any) -> Settings:
    """Options given on the command line, over CROWDLEDGER_* variables, over the command's and
    Settings' defaults."""
    import os

    audit_interval = args.audit_interval
    if audit_interval is None and not os.environ.get("CROWDLEDGER_AUDIT_INTERVAL", "").strip():
        audit_interval = args.default_audit_interval
    options = {
        "finality_depth": args.finality_depth,
        "poll_interval": args.poll_interval,
        "audit_interval": audit_interval,
    }
    options.update(values)
    return Settings.from_env(**options)


def run_serve(args: argparse.Namespace) -> int:
    """`crowdledger serve`: API + follower + auditor against --rpc/--contract/--db."""
    from cli.main import resolve_target

    follow = not args.no_follow
    rpc_url = contract = None
    start_block = 0
    if follow or args.rpc or args.contract or args.deployment:
        target = resolve_target(args)
        rpc_url, contract, start_block = target.rpc_url, target.contract, target.start_block
    settings = _settings(
        args, db_url=args.db, rpc_url=rpc_url, contract=contract, start_block=start_block, follow=follow,
    )

    def ready() -> None:
        print(f"CrowdLedger API on http://{args.host}:{args.port}  (docs: /docs)", flush=True)
        print(f"  database  {_redact(settings.db_url)}", flush=True)
        if settings.rpc_url:
            print(f"  node      {settings.rpc_url}  escrow {settings.contract}", flush=True)

    return serve_app(settings, args.host, args.port, args.log_level, on_ready=ready)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# ============================================================================ the local demo


def run_up(args: argparse.Namespace) -> int:
    """`crowdledger up`: the whole local demo, or the API attached to a chain with --rpc/--contract/--db."""
    if args.rpc or args.contract or args.db or args.deployment:
        return _attach(args)
    from devnet.nodes import LocalNode, rpc_ready
    from ledger.errors import ConfigError

    anvil_url = f"http://127.0.0.1:{args.anvil_port}"
    if rpc_ready(anvil_url, timeout=0.5):
        raise ConfigError(f"a node already answers at {anvil_url}: stop it, pass --anvil-port, or attach with --rpc")
    _check_port_free(args.host, args.port)
    data = Path(args.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    db_path = data / "demo.db"
    for stale in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)  # a demo chain is new every time: so is its database
    db_url = f"sqlite:///{db_path.resolve()}"

    print(f"starting anvil on {anvil_url} ...", flush=True)
    node = LocalNode.start("anvil", port=args.anvil_port)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        deployment, pledge = _deploy_seed_index(node.url, db_url, data, args)
        settings = _settings(
            args, db_url=db_url, rpc_url=node.url, contract=deployment.address, start_block=deployment.block,
            follow=True,
        )

        def ready() -> None:
            _print_up(args, node.url, deployment, db_path, pledge)

        return serve_app(settings, args.host, args.port, args.log_level, on_ready=ready)
    except (KeyboardInterrupt, _Stop):
        print("\ninterrupted", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        print("stopping anvil ...", flush=True)
        node.stop()


def _check_port_free(host: str, port: int) -> None:
    import socket

    from ledger.errors import ConfigError

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise ConfigError(f"port {port} on {host} is in use: stop what holds it or pass --port") from None


def _deploy_seed_index(rpc_url: str, db_url: str, data: Path, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from ledger.db.engine import open_database
    from ledger.db.store import LedgerStore
    from devnet.deploy import DEMO_TOKEN_SYMBOL, NodeAccount, connect, deploy_escrow, deploy_token
    from devnet.seed import seed_demo
    from ledger.sync.indexer import Indexer
    from ledger.sync.progress import Progress
    from ledger.chain.rpc import RpcClient

    w3 = connect(rpc_url)
    accounts = w3.eth.accounts
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
        Indexer(rpc, store, deployment.address, start_block=deployment.block, finality_depth=depth,
                progress=Progress(quiet=True)).run()
    store.engine.dispose()
    return deployment, _pledge_example(rpc_url, deployment.address, accounts[2], db_url, summary)


def _pledge_example(rpc_url: str, escrow: str, backer: str, db_url: str, summary: Any) -> dict[str, Any]:
    """A ready eth_sendTransaction that pledges 0.1 ETH to a funding ETH campaign."""
    from sqlalchemy import create_engine, text

    from ledger.core.hashing import keccak256

    engine = create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT c.campaign_id FROM campaigns c, sync_state s WHERE s.id = 1 AND c.token = :eth "
            "AND NOT c.cancelled AND NOT c.claimed AND c.deadline > s.tip_timestamp + 3600 "
            "AND c.max_per_backer = :zero ORDER BY c.campaign_id LIMIT 1"
        ), {"eth": "0x" + "00" * 20, "zero": "0" * 78}).first()
    engine.dispose()
    if row is None:
        return {}
    campaign_id, amount = int(row[0]), 10**17
    data = "0x" + (keccak256(b"pledge(uint256,uint256)")[:4] + campaign_id.to_bytes(32, "big")
                   + amount.to_bytes(32, "big")).hex()
    tx = {"from": backer, "to": escrow, "value": hex(amount), "data": data}
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [tx]}
    return {"campaign_id": campaign_id, "amount": amount, "body": body, "rpc_url": rpc_url}


def _print_up(args: argparse.Namespace, rpc_url: str, deployment: Any, db_path: Path, pledge: dict[str, Any]) -> None:
    import json

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
    print("\n".join(lines), flush=True)


def _attach(args: argparse.Namespace) -> int:
    """`crowdledger up --rpc ... --contract ... --db ...`: serve an existing chain and database."""
    from cli.main import resolve_target
    from ledger.errors import ConfigError

    if not (args.rpc or args.deployment) or not (args.contract or args.deployment):
        raise ConfigError("to attach, give --rpc and --contract (or --deployment), and --db")
    target = resolve_target(args)
    _check_port_free(args.host, args.port)
    settings = _settings(
        args, db_url=args.db or "sqlite:///crowdledger.db", rpc_url=target.rpc_url, contract=target.contract,
        start_block=target.start_block, follow=True,
    )

    def ready() -> None:
        api = f"http://{args.host}:{args.port}"
        print(f"CrowdLedger API on {api} (docs: {api}/docs), following {target.contract} on {target.rpc_url}", flush=True)
        print(f"  database {_redact(settings.db_url)}; Ctrl-C stops", flush=True)

    return serve_app(settings, args.host, args.port, args.log_level, on_ready=ready)
