"""Where the local chain's inputs live: a CrowdLedger checkout (the Solidity sources, the compiler
settings, the offline solc and the npm packages). The wheel ships devnet/ without them, so the
demo runs only from a checkout, and says so in one line when it is not in one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ledger.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
CONFIG_FILE = PROJECT_ROOT / "brownie-config.yaml"  # the compiler settings (solc, EVM version, optimizer)
SOLC_SHIM = PROJECT_ROOT / "toolchain" / "solcx"  # solc-v<version>: solc from node_modules, offline
NODE_MODULES = PROJECT_ROOT / "node_modules"


def node_binary(name: str) -> Path | None:
    """A node binary (anvil, ganache): node_modules/.bin first, then PATH."""
    local = NODE_MODULES / ".bin" / name
    if local.exists():
        return local
    found = shutil.which(name)
    return Path(found) if found else None


def missing_for_demo(root: Path = PROJECT_ROOT) -> list[str]:
    """What the demo needs and the checkout at `root` lacks (empty in a set-up checkout)."""
    needed = ["contracts/", "brownie-config.yaml", "toolchain/solcx/", "node_modules/"]
    if (root / "node_modules").is_dir():  # `npm ci` done, but not all of it
        needed = needed[:-1] + ["node_modules/solc", "node_modules/@openzeppelin"]
    missing = [name for name in needed if not (root / name).exists()]
    if not (root / "node_modules" / ".bin" / "anvil").exists() and shutil.which("anvil") is None:
        missing.append("anvil (node_modules/.bin or PATH)")
    return missing


def require_checkout(root: Path = PROJECT_ROOT) -> None:
    """Raise one ConfigError line naming what is missing when `root` is not a set-up checkout."""
    missing = missing_for_demo(root)
    if missing:
        raise ConfigError(
            f"the local demo needs a CrowdLedger checkout set up with `make setup`; {root} lacks "
            f"{', '.join(missing)} (to serve an existing chain instead, pass --rpc, --contract and --db)"
        )
