"""The command line's own checks: one readable line for each way a command cannot run."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from solcx.exceptions import SolcError

from cli.common import resolve_target
from devnet.artifacts import compile_standard, compiler_settings, solc_errors
from devnet.checkout import missing_for_demo, require_checkout
from ledger.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def target_args(**values: object) -> argparse.Namespace:
    return argparse.Namespace(
        **{"rpc": None, "contract": None, "deployment": None, "from_block": None, **values}
    )


def test_a_target_from_flags_and_its_address_checks(tmp_path: Path) -> None:
    target = resolve_target(target_args(rpc="http://x", contract=ADDRESS.lower(), from_block=5))
    assert (target.contract, target.start_block) == (ADDRESS, 5)
    with pytest.raises(ConfigError, match="wrong EIP-55 checksum"):
        resolve_target(target_args(rpc="http://x", contract=ADDRESS.replace("F", "f", 1)))
    with pytest.raises(ConfigError, match="not an address"):
        resolve_target(target_args(rpc="http://x", contract="0x1234"))
    with pytest.raises(ConfigError, match="give --rpc and --contract"):
        resolve_target(target_args(deployment=None, rpc="http://x"))
    with pytest.raises(ConfigError, match="no deployment file"):
        resolve_target(target_args(deployment=str(tmp_path / "missing.json")))


def test_up_outside_a_checkout_says_what_is_missing_in_one_line(tmp_path: Path) -> None:
    assert missing_for_demo() == []  # this checkout is set up
    (tmp_path / "node_modules").mkdir()
    with pytest.raises(ConfigError) as raised:
        require_checkout(tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert all(name in message for name in ("contracts/", "toolchain/solcx/", "node_modules/solc"))

    # as an installed wheel runs it: the packages without the checkout around them
    site = tmp_path / "site"
    for package in ("cli", "devnet", "ledger", "api"):
        shutil.copytree(ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "up", "--data-dir", str(tmp_path / "demo")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "lacks contracts/" in done.stderr and str(site) in done.stderr
    assert not (tmp_path / "demo").exists()  # it stopped before starting anything


def test_solc_errors_show_solcs_messages_not_its_json() -> None:
    exc = SolcError(
        "x",
        error_dict=[
            {"severity": "warning", "formattedMessage": "Warning: unused variable"},
            {
                "severity": "error",
                "formattedMessage": "ParserError: Expected ';'\n --> a.sol:1:2:\n",
                "type": "E",
            },
        ],
    )
    assert solc_errors(exc) == "ParserError: Expected ';'\n --> a.sol:1:2:"
    crashed = SolcError("An error occurred during execution", return_code=1, stderr_data="boom\n")
    assert solc_errors(crashed) == "An error occurred during execution (exit code 1): boom"


def test_a_contract_that_does_not_compile_is_one_error_with_solcs_message() -> None:
    with pytest.raises(ConfigError) as raised:
        compile_standard(
            {"contracts/Broken.sol": "pragma solidity ^0.8.0; contract Broken { function }"},
            compiler_settings(),
        )
    message = str(raised.value)
    assert message.startswith("solc failed:\n") and "ParserError" in message and "Broken.sol" in message
    assert '"severity"' not in message and "sources" not in message
