"""`crowdledger up`: the whole system on a local chain in one command. anvil on 127.0.0.1:8545,
the escrow and the demo tokens deployed, a realistic demo seeded (devnet/), indexed into a SQLite
file with its documents, the default deployment file written (cli/demo.py), and the API on
http://127.0.0.1:8000 with the follower and the auditor; Ctrl-C stops everything. With
--rpc/--contract/--db it attaches to an existing chain instead (cli/serve.py).

The demo compiles contracts/ and runs anvil from node_modules/, so it needs a CrowdLedger
checkout; an installed wheel elsewhere fails with one line saying what is missing.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from cli.serve import Stop, attach, check_port_free, raise_stop, serve_app, settings_for
from ledger.errors import ConfigError


def run(args: argparse.Namespace) -> int:
    if args.rpc or args.contract or args.db or args.deployment:
        return attach(args)
    return demo(args)


def demo(args: argparse.Namespace) -> int:
    """Start anvil, deploy, seed, index, then serve until Ctrl-C or SIGTERM; anvil stops with it.
    The demo itself (the chain, the seeding, the documents, the deployment file, the banner) is
    cli/demo.py's."""
    from cli.demo import prepare, start_chain
    from devnet.artifacts import load_artifact
    from devnet.checkout import require_checkout
    from devnet.nodes import rpc_ready

    require_checkout()
    load_artifact("CrowdfundEscrow")  # compiled (or read from the cache) before anything starts
    anvil_url = f"http://127.0.0.1:{args.anvil_port}"
    if rpc_ready(anvil_url, timeout=0.5):
        raise ConfigError(
            f"a node already answers at {anvil_url}: stop it, pass --anvil-port, or attach with --rpc"
        )
    check_port_free(args.host, args.port)

    print(f"starting anvil on {anvil_url} ...", flush=True)
    node = start_chain(args.anvil_port)
    previous = signal.signal(signal.SIGTERM, raise_stop)
    try:
        depth = 12 if args.finality_depth is None else args.finality_depth
        up = prepare(
            node.url, Path(args.data_dir), backers=args.backers, seed=args.seed, finality_depth=depth
        )
        settings = settings_for(
            args,
            db_url=up.db_url,
            rpc_url=node.url,
            contract=up.deployment.address,
            start_block=up.deployment.block,
            follow=True,
        )

        def ready() -> None:
            print(up.banner(f"http://{args.host}:{args.port}"), flush=True)

        return serve_app(settings, args.host, args.port, args.log_level, on_ready=ready)
    except (KeyboardInterrupt, Stop):
        print("\ninterrupted", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        print("stopping anvil ...", flush=True)
        node.stop()
