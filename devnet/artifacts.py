"""Compiled contracts for the local chain: the ABI and creation bytecode of each contract under
`contracts/`, compiled with py-solc-x and the offline solc in `toolchain/solcx`.

    abi, bytecode = load_artifact("CrowdfundEscrow")

The compiler settings (solc version, EVM version, optimizer) are read from `brownie-config.yaml`,
the one place they are written, so the contract tests (brownie) and the demo deploy the same
bytecode. Every contract is compiled in one standard-JSON call; the result is cached in
`build/devnet/` under a digest of the sources and settings, so a changed source (or import from
node_modules) is compiled again and an unchanged one never.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devnet.checkout import CONFIG_FILE, CONTRACTS_DIR, PROJECT_ROOT, SOLC_SHIM
from ledger.errors import ConfigError

if TYPE_CHECKING:
    from solcx.exceptions import SolcError

CACHE_DIR = PROJECT_ROOT / "build" / "devnet"
OUTPUTS = ["abi", "evm.bytecode.object"]

Artifact = tuple[list[Any], str]


def compiler_settings() -> dict[str, Any]:
    """solc's version and standard-JSON settings, from brownie-config.yaml's `compiler` section."""
    import yaml

    try:
        config = yaml.safe_load(CONFIG_FILE.read_text())["compiler"]
        solc = config["solc"]
        return {
            "version": str(solc["version"]),
            "evmVersion": config["evm_version"],
            "optimizer": {
                "enabled": bool(solc["optimizer"]["enabled"]),
                "runs": int(solc["optimizer"]["runs"]),
            },
            "remappings": list(solc.get("remappings") or []),
        }
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the compiler settings in {CONFIG_FILE}: {exc}") from None


def _source_files() -> list[Path]:
    if not CONTRACTS_DIR.is_dir():
        raise ConfigError(
            f"no contracts/ folder at {PROJECT_ROOT}: run `crowdledger up` from a CrowdLedger checkout"
        )
    return sorted(CONTRACTS_DIR.rglob("*.sol"))


def compile_standard(sources: dict[str, str], settings: dict[str, Any], outputs: list[str] = OUTPUTS) -> Any:
    """solc's standard-JSON output for `sources` (unit name -> text) under `settings` (as
    compiler_settings gives them); a compile error is a ConfigError with solc's messages."""
    import solcx
    from solcx.exceptions import SolcError

    os.environ.setdefault("SOLCX_BINARY_PATH", str(SOLC_SHIM))  # the offline shim, never a download
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "evmVersion": settings["evmVersion"],
            "optimizer": settings["optimizer"],
            "remappings": settings["remappings"],
            "outputSelection": {"*": {"*": outputs}},
        },
    }
    try:
        return solcx.compile_standard(
            standard_input,
            solc_version=settings["version"],
            base_path=str(PROJECT_ROOT),
            allow_paths=[str(PROJECT_ROOT)],
        )
    except SolcError as exc:
        raise ConfigError(f"solc failed:\n{solc_errors(exc)}") from None
    except (OSError, solcx.exceptions.SolcNotInstalled) as exc:
        raise ConfigError(f"solc could not run (is `npm ci` done? it uses {SOLC_SHIM}): {exc}") from None


def solc_errors(exc: SolcError) -> str:
    """solc's own error messages (the formattedMessage of each entry of severity "error"), not the
    JSON around them; when solc itself failed, the end of what it wrote to stderr."""
    messages = [
        str(entry.get("formattedMessage") or entry.get("message") or "").strip()
        for entry in exc.error_dict or []
        if isinstance(entry, dict) and entry.get("severity") == "error"
    ]
    if any(messages):
        return "\n".join(message for message in messages if message)
    stderr = (exc.stderr_data or "").strip()
    return f"{exc.message} (exit code {exc.return_code}){': ' + stderr[-1000:] if stderr else ''}"


def _compile_all() -> dict[str, Artifact]:
    """Every deployable contract under contracts/, compiled (or read from the cache)."""
    settings = compiler_settings()
    files = _source_files()
    sources = {str(path.relative_to(PROJECT_ROOT)): path.read_text() for path in files}
    lock = PROJECT_ROOT / "package-lock.json"  # the node_modules sources (OpenZeppelin) they import
    digest = hashlib.sha256(
        json.dumps([sources, settings, lock.read_text() if lock.exists() else ""], sort_keys=True).encode()
    ).hexdigest()[:24]
    cache = CACHE_DIR / f"{digest}.json"
    if cache.exists():
        try:
            stored: dict[str, Artifact] = {k: (v[0], v[1]) for k, v in json.loads(cache.read_text()).items()}
            return stored
        except (OSError, ValueError, TypeError, IndexError):
            pass  # a broken cache file: compile again
    output = compile_standard(sources, settings)
    artifacts: dict[str, Artifact] = {}
    for unit in output.get("contracts", {}).values():
        for name, contract in unit.items():
            bytecode = contract.get("evm", {}).get("bytecode", {}).get("object", "")
            if bytecode:  # interfaces and abstract contracts have none
                artifacts[name] = (contract["abi"], "0x" + bytecode)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(artifacts))
    tmp.replace(cache)
    for old in CACHE_DIR.glob("*.json"):
        if old != cache:
            old.unlink(missing_ok=True)
    return artifacts


_loaded: dict[str, Artifact] | None = None


def load_artifact(name: str) -> Artifact:
    """(abi, creation bytecode as 0x-hex) of contract `name`, compiling first when needed."""
    global _loaded
    if _loaded is None:
        _loaded = _compile_all()
    try:
        abi, bytecode = _loaded[name]
    except KeyError:
        raise ConfigError(f"no deployable contract {name!r} under contracts/") from None
    if "__" in bytecode:
        raise ConfigError(f"{name} has unlinked library placeholders; it cannot be deployed as is")
    return abi, bytecode
