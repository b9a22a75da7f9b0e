"""The settings the commands share, and the one way every command reads them: the command-line
flag, else its `CROWDLEDGER_*` environment variable, else the deployment file, else the default.

    settings = resolve(args, "rpc_url", "contract", "db_url")   # the settings the command uses
    settings.db_url, settings.source("db_url")                   # the value; "--db", "CROWDLEDGER_DB_URL", ...
    with rpc_client(settings) as rpc: ...                        # the node, with its deadline and answer cap

| setting            | flag                 | environment                    | deployment file | default                    |
|--------------------|----------------------|--------------------------------|-----------------|----------------------------|
| the file itself    | `--deployment`       | `CROWDLEDGER_DEPLOYMENT`       |                 | `deployments/local.json`   |
| `rpc_url`          | `--rpc`              | `CROWDLEDGER_RPC_URL`          | `rpc_url`       | (none)                     |
| `contract`         | `--contract`         | `CROWDLEDGER_CONTRACT`         | `address`       | (none)                     |
| `db_url`           | `--db`               | `CROWDLEDGER_DB_URL`           | `db_url` (*)    | `sqlite:///crowdledger.db` |
| `start_block`      | `--from-block`       | `CROWDLEDGER_START_BLOCK`      | `block` (*)     | 0                          |
| `finality_depth`   | `--finality-depth`   | `CROWDLEDGER_FINALITY_DEPTH`   |                 | 12                         |
| `poll_interval`    | `--poll-interval`    | `CROWDLEDGER_POLL_INTERVAL`    |                 | 0.5 s                      |
| `rpc_timeout`      | `--rpc-timeout`      | `CROWDLEDGER_RPC_TIMEOUT`      |                 | 30 s for one request       |
| `max_answer_bytes` | `--max-answer-bytes` | `CROWDLEDGER_MAX_ANSWER_BYTES` |                 | 32 MiB for one answer      |
| `api_url`          | `--api`              | `CROWDLEDGER_API_URL`          |                 | (none)                     |

(*) only for the file's own escrow: when the contract or the node comes from a flag or the
environment and is another (local chains deploy at the same addresses every time, so the node
counts too), the file's first block and database are not that escrow's.

The deployment file is the one `--deployment` or `CROWDLEDGER_DEPLOYMENT` names (it must exist),
else `deployments/local.json` when it exists. `scripts/deploy.py` writes it, and so does
`crowdledger up` for its demo, with the demo's database as `db_url`: every command run in the same
folder afterwards finds the demo's node, escrow and database without a flag.

The API's settings (api/core/config.py) read the same variables under the same names, so
`crowdledger serve --no-follow` and `crowdledger index --follow` configured through the environment
share one database. An empty variable counts as not set. This module imports nothing heavy (it runs
before every command): pydantic-settings would add ~0.15 s to every start, a quarter of the budget
of an `index` with nothing to do (measured), so the command line reads the same variables itself.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.args import (
    byte_count,
    deadline,
    http_url,
    non_negative,
)
from ledger.chain.defaults import DEFAULT_DEPLOYMENT, DEFAULT_MAX_ANSWER_BYTES
from ledger.chain.defaults import DEFAULT_TIMEOUT as DEFAULT_RPC_TIMEOUT
from ledger.db.engine import DEFAULT_DB_URL
from ledger.errors import ConfigError

if TYPE_CHECKING:
    from ledger.chain.deployment import Deployment
    from ledger.chain.rpc import RpcClient

ENV_PREFIX = "CROWDLEDGER_"
DEFAULT = "default"


@dataclass(frozen=True)
class Settings:
    """The settings of one run; `sources` says where each came from: its flag, its variable,
    "deployment file PATH", or "default" (the dataclass default)."""

    rpc_url: str | None = None
    contract: str | None = None  # checksummed
    db_url: str = DEFAULT_DB_URL
    start_block: int = 0
    finality_depth: int = 12
    poll_interval: float = 0.5
    rpc_timeout: float = DEFAULT_RPC_TIMEOUT
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    api_url: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    deployment: Deployment | None = None
    deployment_path: Path | None = None

    def source(self, name: str) -> str:
        return self.sources.get(name, DEFAULT)

    def given(self, name: str) -> bool:
        """Whether the setting was configured (flag, variable or deployment file), not defaulted."""
        return self.source(name) != DEFAULT


@dataclass(frozen=True)
class Setting:
    """How one setting is read: its flag (and argparse dest), the deployment file's key it falls
    back to, and how a variable's text becomes its value. Its variable is CROWDLEDGER_<NAME>."""

    name: str
    flag: str
    dest: str
    parse: Callable[[str], Any]
    key: str | None = None
    own_escrow_only: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def _text(text: str) -> str:
    return text.strip()


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("rpc_url", "--rpc", "rpc", http_url, key="rpc_url"),
        Setting("contract", "--contract", "contract", _text, key="address"),
        Setting("db_url", "--db", "db", _text, key="db_url", own_escrow_only=True),
        Setting("start_block", "--from-block", "from_block", non_negative, key="block", own_escrow_only=True),
        Setting("finality_depth", "--finality-depth", "finality_depth", non_negative),
        Setting("poll_interval", "--poll-interval", "poll_interval", deadline),
        Setting("rpc_timeout", "--rpc-timeout", "rpc_timeout", deadline),
        Setting("max_answer_bytes", "--max-answer-bytes", "max_answer_bytes", byte_count),
        Setting("api_url", "--api", "api", http_url),
    )
}
DEPLOYMENT = Setting("deployment", "--deployment", "deployment", _text)


def _env(setting: Setting, environ: Mapping[str, str]) -> Any:
    raw = environ.get(setting.env, "").strip()
    if not raw:
        return None
    try:
        return setting.parse(raw)
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise ConfigError(f"{setting.env}: {exc}") from None


def deployment_file(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """The deployment file's path and where it was named: --deployment, CROWDLEDGER_DEPLOYMENT or
    the default (deployments/local.json)."""
    environ = os.environ if environ is None else environ
    flag = getattr(args, DEPLOYMENT.dest, None)
    if flag:
        return Path(flag), DEPLOYMENT.flag
    env = _env(DEPLOYMENT, environ)
    if env:
        return Path(env), DEPLOYMENT.env
    return Path(DEFAULT_DEPLOYMENT), DEFAULT


def _read_deployment(path: Path, named: str) -> tuple[Deployment | None, dict[str, Any]]:
    """The deployment file and its raw fields (`db_url` is not one of Deployment's); a file named
    by a flag or a variable must exist, the default one is read when it does."""
    if named == DEFAULT and not path.is_file():
        return None, {}
    import json

    from ledger.chain.deployment import read_deployment

    deployment = read_deployment(path)  # every error is a ConfigError naming the file
    raw = json.loads(path.read_text())
    return deployment, raw


def check_address(text: str, where: str) -> str:
    """`text` checksummed; a ConfigError naming `where` when it is not an address, or is mixed case
    with a wrong EIP-55 checksum (with the spelling it should have)."""
    from ledger.core.addresses import checksum, checksum_error

    problem = checksum_error(text)
    if problem is not None:
        raise ConfigError(f"{where}: {problem}")
    return checksum(text)


def _own_escrow(deployment: Deployment, values: dict[str, Any], sources: dict[str, str], path: Path) -> bool:
    """Whether the escrow asked about is the deployment file's own: the same address (or none
    given) on the same node (or none given apart from the file). Local chains deploy at the same
    addresses every time, so an address alone does not tell two anvils apart."""
    contract, rpc_url = values.get("contract"), values.get("rpc_url")
    same_address = contract is None or contract.lower() == deployment.address.lower()
    same_node = (
        rpc_url is None
        or sources.get("rpc_url") == f"deployment file {path}"
        or rpc_url == deployment.rpc_url
    )
    return same_address and same_node


def resolve(args: argparse.Namespace, *names: str, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings `names` (and always `contract` and `rpc_url`, which decide whether the
    deployment file's first block and database are the escrow's): each from its flag, else its
    variable, else the deployment file, else its default. An invalid value is a ConfigError naming
    its variable or file."""
    environ = os.environ if environ is None else environ
    unknown = set(names) - set(SETTINGS)
    if unknown:
        raise KeyError(f"no such setting: {', '.join(sorted(unknown))}")
    path, named = deployment_file(args, environ)
    deployment, raw = _read_deployment(path, named)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    own = True  # whether the file's own escrow is the one asked about (see _own_escrow)
    for name in dict.fromkeys(("contract", "rpc_url", *names)):
        setting = SETTINGS[name]
        value, source = getattr(args, setting.dest, None), setting.flag
        if value is None:
            value, source = _env(setting, environ), setting.env
        if (
            value is None
            and deployment is not None
            and setting.key is not None
            and (own or not setting.own_escrow_only)
        ):
            value, source = raw.get(setting.key), f"deployment file {path}"
            if value in (None, ""):
                value = None
            elif name == "start_block":
                value = deployment.block
        if value is not None:
            if name == "contract":
                value = check_address(str(value), source)
            elif name == "db_url" and not isinstance(value, str):
                raise ConfigError(f"{source}: db_url is not a text")
            values[name], sources[name] = value, source
        if name == "rpc_url" and deployment is not None:
            own = _own_escrow(deployment, values, sources, path)
    return Settings(
        **values,
        sources=sources,
        deployment=deployment,
        deployment_path=path if deployment is not None else None,
    )


def missing_target() -> ConfigError:
    return ConfigError(
        "give --rpc and --contract (or CROWDLEDGER_RPC_URL and CROWDLEDGER_CONTRACT), or a deployment "
        f"file (--deployment or CROWDLEDGER_DEPLOYMENT; default {DEFAULT_DEPLOYMENT}, which "
        "`crowdledger up` and scripts/deploy.py write)"
    )


def rpc_client(settings: Settings) -> RpcClient:
    """The node's client, with the run's deadline per request and cap per answer."""
    from ledger.chain.rpc import RpcClient

    if not settings.rpc_url:
        raise missing_target()
    return RpcClient(
        settings.rpc_url, timeout=settings.rpc_timeout, max_answer_bytes=settings.max_answer_bytes
    )


def api_settings(settings: Settings) -> dict[str, Any]:
    """The resolved settings the API's Settings (api/core/config.py) also has, as overrides for
    `Settings.from_env`: what `crowdledger serve` and `up` pass so the API reads them this way too."""
    from api.core.config import Settings as ApiSettings

    known = ApiSettings.model_fields
    return {name: getattr(settings, name) for name in SETTINGS if name in known and settings.given(name)}


__all__ = [
    "DEFAULT",
    "SETTINGS",
    "Setting",
    "Settings",
    "api_settings",
    "check_address",
    "deployment_file",
    "missing_target",
    "resolve",
    "rpc_client",
]
