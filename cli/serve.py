"""`crowdledger serve`, and `crowdledger up` attached to an existing chain and database: the API
and web page with the follower and the auditor, until Ctrl-C or SIGTERM.

Settings not given as options come from CROWDLEDGER_* variables (api/core/config.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from api.core.config import Settings
from cli.common import resolve_target
from cli.settings import api_settings, resolve
from ledger.errors import ConfigError

# The command line's settings (cli/settings.py: flag, else variable, else deployment file) the API's
# Settings also has, passed on when configured
SHARED = ("db_url", "finality_depth", "poll_interval", "rpc_timeout", "max_answer_bytes")
# Settings fields that `serve` and `up` take as options (--max-header-bytes, --forwarded-allow-ips, ...)
SERVER_OPTIONS = (
    "max_header_bytes",
    "header_timeout",
    "forwarded_allow_ips",
    "stream_max_clients",
    "stream_max_per_client",
    "stream_max_replay",
)


class Stop(Exception):
    """SIGTERM, turned into an exception so that everything shuts down in order."""


def raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop


class _Server(uvicorn.Server):
    """uvicorn's server, calling `on_ready` once it listens."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_ready is not None:
            self.on_ready()


def serve_app(
    settings: Settings, host: str, port: int, log_level: str, on_ready: Callable[[], None] | None = None
) -> int:
    """Run the API with uvicorn until Ctrl-C or SIGTERM; 0 after a clean shutdown."""
    from api.main import create_app
    from api.server import server_config

    config = server_config(create_app(settings), settings, host=host, port=port, log_level=log_level)
    server = _Server(config, on_ready)
    previous = signal.signal(signal.SIGTERM, raise_stop)
    try:
        server.run()
    except (KeyboardInterrupt, Stop):  # uvicorn re-raises the signal it shut down for
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not server.started:
        raise ConfigError(f"the API could not start on {host}:{port} (is the port in use?)")
    return 0


def settings_for(args: argparse.Namespace, **values: Any) -> Settings:
    """Options given on the command line, over CROWDLEDGER_* variables, over the command's and
    Settings' defaults."""
    audit_interval = args.audit_interval
    if audit_interval is None and not os.environ.get("CROWDLEDGER_AUDIT_INTERVAL", "").strip():
        audit_interval = args.default_audit_interval
    options = {
        "finality_depth": args.finality_depth,
        "poll_interval": args.poll_interval,
        "rpc_timeout": getattr(args, "rpc_timeout", None),
        "max_answer_bytes": getattr(args, "max_answer_bytes", None),
        "audit_interval": audit_interval,
    }
    # the server's limits (api/server.py), where the parser offers them (else CROWDLEDGER_* variables)
    options.update({name: getattr(args, name, None) for name in SERVER_OPTIONS})
    options.update(values)
    return Settings.from_env(**options)


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise ConfigError(f"port {port} on {host} is in use: stop what holds it or pass --port") from None


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run(args: argparse.Namespace) -> int:
    """`crowdledger serve`: API + follower + auditor against --rpc/--contract/--db."""
    follow = not args.no_follow
    rpc_url = contract = None
    start_block = 0
    if follow or args.rpc or args.contract or args.deployment:
        target = resolve_target(args, *SHARED)
        rpc_url, contract, start_block = target.rpc_url, target.contract, target.start_block
        shared = target.settings
    else:
        shared = resolve(args, *SHARED)
    settings = settings_for(
        args,
        **{
            **api_settings(shared),
            "rpc_url": rpc_url,
            "contract": contract,
            "start_block": start_block,
            "follow": follow,
        },
    )

    def ready() -> None:
        print(f"CrowdLedger API on http://{args.host}:{args.port}  (docs: /docs)", flush=True)
        print(f"  database  {redact(settings.db_url)}", flush=True)
        if settings.rpc_url:
            print(f"  node      {settings.rpc_url}  escrow {settings.contract}", flush=True)

    return serve_app(settings, args.host, args.port, args.log_level, on_ready=ready)


def attach(args: argparse.Namespace) -> int:
    """`crowdledger up --rpc ... --contract ... --db ...`: serve an existing chain and database."""
    if not (args.rpc or args.deployment) or not (args.contract or args.deployment):
        raise ConfigError("to attach, give --rpc and --contract (or --deployment), and --db")
    target = resolve_target(args, *SHARED)
    check_port_free(args.host, args.port)
    settings = settings_for(args, **{**api_settings(target.settings), "follow": True})

    def ready() -> None:
        api = f"http://{args.host}:{args.port}"
        print(
            f"CrowdLedger API on {api} (docs: {api}/docs), following {target.contract} on {target.rpc_url}",
            flush=True,
        )
        print(f"  database {redact(settings.db_url)}; Ctrl-C stops", flush=True)

    return serve_app(settings, args.host, args.port, args.log_level, on_ready=ready)
