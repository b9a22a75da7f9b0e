"""Compiled contracts from brownie's build directory.

    abi, bytecode = load_artifact("CrowdfundEscrow")

`build/contracts/{name}.json` is what `brownie compile` writes (same solc, EVM version and
optimizer settings as brownie-config.yaml). When the artifact is missing, or older than a source
it was built from, this runs `brownie compile` once in a subprocess with the project's
environment (node_modules/.bin and .venv/bin on PATH, SOLCX_BINARY_PATH=toolchain/solcx).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ledger.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = PROJECT_ROOT / "build" / "contracts"
CONTRACTS_DIR = PROJECT_ROOT / "contracts"

COMPILE_TIMEOUT = 600.0


def artifact_path(name: str) -> Path:
    return BUILD_DIR / f"{name}.json"


_parsed: dict[tuple[Path, float], dict] = {}


def _read(path: Path) -> dict:
    """The artifact's JSON, parsed once per file version (the escrow's is a few MB)."""
    try:
        key = path, path.stat().st_mtime
        if key not in _parsed:
            _parsed[key] = json.loads(path.read_text())
        return _parsed[key]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the compiled artifact {path}: {exc}") from None


def is_stale(name: str) -> bool:
    """Whether build/contracts/{name}.json is missing or older than a source it was built from.

    The sources are the artifact's `allSourcePaths` (the contract and everything it imports);
    a contract that is not in the build yet, but is in contracts/, is stale too.
    """
    path = artifact_path(name)
    if not path.exists():
        return True
    built = path.stat().st_mtime
    try:
        sources = _read(path).get("allSourcePaths", {}).values()
    except ConfigError:
        return True
    for source in sources:
        source_path = PROJECT_ROOT / source
        if source_path.exists() and source_path.stat().st_mtime > built:
            return True
    return False


def project_env() -> dict[str, str]:
    """os.environ with the project's tool directories first on PATH and the offline solc shim."""
    env = dict(os.environ)
    extra = [str(PROJECT_ROOT / "node_modules" / ".bin"), str(PROJECT_ROOT / ".venv" / "bin")]
    env["PATH"] = os.pathsep.join(extra + [env.get("PATH", "")])
    env.setdefault("SOLCX_BINARY_PATH", str(PROJECT_ROOT / "toolchain" / "solcx"))
    return env


def _brownie_command() -> list[str]:
    local = PROJECT_ROOT / ".venv" / "bin" / "brownie"
    if local.exists():
        return [str(local)]
    found = shutil.which("brownie")
    if found:
        return [found]
    # brownie installed in this interpreter but without a console script on PATH
    return [sys.executable, "-m", "brownie"]


def compile_contracts() -> None:
    """Run `brownie compile` in the project root; a failure is a ConfigError with solc's message."""
    try:
        result = subprocess.run(
            _brownie_command() + ["compile"],
            cwd=PROJECT_ROOT,
            env=project_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMPILE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"`brownie compile` could not run: {exc}") from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ConfigError(f"`brownie compile` failed (exit {result.returncode}): {output[-2000:]}")
    # brownie leaves an artifact whose sources' contents did not change untouched, even when a
    # source file is newer (npm reinstalled node_modules): mark them all current, or is_stale()
    # would ask for a compile on every load
    for artifact in BUILD_DIR.glob("*.json"):
        artifact.touch()


def load_artifact(name: str, *, compile_if_stale: bool = True) -> tuple[list, str]:
    """(abi, creation bytecode as 0x-hex) of contract `name`, compiling first when needed."""
    if compile_if_stale and is_stale(name):
        compile_contracts()
    path = artifact_path(name)
    if not path.exists():
        raise ConfigError(
            f"no compiled artifact {path.relative_to(PROJECT_ROOT)}: is there a contract {name!r} "
            f"under contracts/? (`brownie compile` ran without producing it)"
        )
    data = _read(path)
    abi = data.get("abi")
    bytecode = data.get("bytecode") or ""
    if not isinstance(abi, list) or not bytecode:
        raise ConfigError(f"{path} has no ABI or bytecode (an interface or abstract contract?)")
    if "__" in bytecode:
        raise ConfigError(f"{path} has unlinked library placeholders; it cannot be deployed as is")
    if not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    return abi, bytecode
