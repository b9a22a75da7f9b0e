"""The deployment file: where an escrow lives. `scripts/deploy.py` writes it; the indexer,
auditor and API read it so that `--rpc/--contract/--from-block` need not be typed.

    {"contract": "CrowdfundEscrow", "address": "0x...", "chain_id": 31337,
     "block": 1, "block_hash": "0x...", "tx_hash": "0x...", "rpc_url": "http://127.0.0.1:8545",
     "fee_recipient": "0x...", "fee_bps": 250, "unpledge_lock_window": 86400,
     "tokens": {"DEMO": "0x..."}}
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ledger.chain.defaults import DEFAULT_DEPLOYMENT
from ledger.core.addresses import checksum, checksum_error
from ledger.errors import ConfigError

DEFAULT_DEPLOYMENT_PATH = Path(DEFAULT_DEPLOYMENT)
DEPLOYMENT_ENV = "CROWDLEDGER_DEPLOYMENT"


@dataclass(frozen=True)
class Deployment:
    address: str
    chain_id: int
    block: int
    rpc_url: str = ""
    block_hash: str = ""
    tx_hash: str = ""
    fee_recipient: str = ""
    fee_bps: int = 0
    unpledge_lock_window: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    contract: str = "CrowdfundEscrow"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)
        return path


def default_deployment_path() -> Path:
    return Path(os.environ.get(DEPLOYMENT_ENV, DEFAULT_DEPLOYMENT_PATH))


def read_deployment(path: str | Path | None = None) -> Deployment:
    """Read and check a deployment file; a missing or malformed one is a ConfigError."""
    path = Path(path) if path is not None else default_deployment_path()
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"no deployment file at {path}; deploy first or pass --rpc and --contract"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read deployment file {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"deployment file {path} is not a JSON object")
    try:
        address = raw["address"]
        problem = checksum_error(address) if isinstance(address, str) else f"{address!r} is not an address"
        if problem is not None:
            raise ConfigError(f"deployment file {path}: {problem}")
        known = {f for f in Deployment.__dataclass_fields__}
        values = {k: v for k, v in raw.items() if k in known}
        values["address"] = checksum(address)
        values["chain_id"] = int(raw["chain_id"])
        values["block"] = int(raw["block"])
        return Deployment(**values)
    except KeyError as exc:
        raise ConfigError(f"deployment file {path} lacks the field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"deployment file {path}: a field has the wrong type ({exc})") from None
