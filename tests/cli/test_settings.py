"""One way to read a setting, for every command: the flag, else its CROWDLEDGER_* variable, else
the deployment file, else the default (cli/settings.py)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cli.main import build_parser
from cli.settings import SETTINGS, api_settings, resolve, rpc_client
from devnet.nodes import free_port
from ledger.errors import ConfigError
from tests.cli.conftest import clean_env
from tests.support.server import wait_until

ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
COMMANDS_WITH_A_NODE = ["index", "audit", "verify", "serve", "up"]


def parsed(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def write_deployment(path: Path, **extra: object) -> Path:
    fields = {"address": ESCROW, "chain_id": 31337, "block": 7, "rpc_url": "http://file:8545", **extra}
    path.write_text(json.dumps(fields))
    return path


def test_a_flag_beats_its_variable_which_beats_the_deployment_file_which_beats_the_default(
    tmp_path: Path,
) -> None:
    deployment = write_deployment(tmp_path / "d.json", db_url="sqlite:///file.db")
    names = ("rpc_url", "db_url", "start_block", "finality_depth", "rpc_timeout", "max_answer_bytes")
    env = {
        "CROWDLEDGER_DEPLOYMENT": str(deployment),
        "CROWDLEDGER_RPC_URL": "http://env:8545",
        "CROWDLEDGER_DB_URL": "sqlite:///env.db",
        "CROWDLEDGER_START_BLOCK": "3",
        "CROWDLEDGER_FINALITY_DEPTH": "2",
        "CROWDLEDGER_RPC_TIMEOUT": "4.5",
        "CROWDLEDGER_MAX_ANSWER_BYTES": "2MiB",
    }
    flags = parsed(
        "index",
        "--rpc=http://flag:8545",
        "--db=sqlite:///flag.db",
        "--from-block=9",
        "--finality-depth=1",
        "--rpc-timeout=1.5",
        "--max-answer-bytes=4096",
    )
    from_flags = resolve(flags, *names, environ=env)
    assert (from_flags.rpc_url, from_flags.db_url, from_flags.start_block) == (
        "http://flag:8545",
        "sqlite:///flag.db",
        9,
    )
    assert (from_flags.finality_depth, from_flags.rpc_timeout, from_flags.max_answer_bytes) == (1, 1.5, 4096)
    assert from_flags.source("db_url") == "--db" and from_flags.contract == ESCROW  # from the file

    from_env = resolve(parsed("index"), *names, environ=env)
    assert (from_env.rpc_url, from_env.db_url, from_env.start_block) == (
        "http://env:8545",
        "sqlite:///env.db",
        3,
    )
    assert (from_env.finality_depth, from_env.rpc_timeout, from_env.max_answer_bytes) == (2, 4.5, 2 << 20)
    assert from_env.source("rpc_url") == "CROWDLEDGER_RPC_URL"

    from_file = resolve(parsed("index"), *names, environ={"CROWDLEDGER_DEPLOYMENT": str(deployment)})
    assert (from_file.rpc_url, from_file.contract, from_file.db_url, from_file.start_block) == (
        "http://file:8545",
        ESCROW,
        "sqlite:///file.db",
        7,
    )
    assert from_file.source("db_url") == f"deployment file {deployment}"
    assert (from_file.finality_depth, from_file.rpc_timeout, from_file.max_answer_bytes) == (
        12,
        30.0,
        32 << 20,
    )

    defaults = resolve(parsed("index"), *names, environ={})  # no file in this folder
    assert (defaults.rpc_url, defaults.contract, defaults.db_url, defaults.start_block) == (
        None,
        None,
        "sqlite:///crowdledger.db",
        0,
    )
    assert not defaults.given("db_url") and defaults.deployment is None


def test_the_default_deployment_file_is_read_from_the_working_folder(tmp_path: Path) -> None:
    (tmp_path / "deployments").mkdir()
    write_deployment(tmp_path / "deployments" / "local.json")
    settings = resolve(parsed("verify"), "rpc_url", "db_url", environ={})
    assert settings.contract == ESCROW and settings.rpc_url == "http://file:8545"
    assert settings.deployment_path == Path("deployments/local.json")
    assert not settings.given("db_url")  # this file names no database


def test_the_files_first_block_and_database_are_only_its_own_escrows(tmp_path: Path) -> None:
    deployment = write_deployment(tmp_path / "d.json", db_url="sqlite:///file.db")
    env = {"CROWDLEDGER_DEPLOYMENT": str(deployment)}
    names = ("rpc_url", "db_url", "start_block")
    other = resolve(parsed("index", "--contract", OTHER), *names, environ=env)
    assert other.contract == OTHER and other.rpc_url == "http://file:8545"  # the node is the node
    assert (other.db_url, other.start_block) == ("sqlite:///crowdledger.db", 0)
    same = resolve(parsed("index", "--contract", ESCROW.lower()), *names, environ=env)
    assert (same.contract, same.db_url, same.start_block) == (ESCROW, "sqlite:///file.db", 7)
    # local chains deploy at the same addresses: the same address on another node is another escrow
    elsewhere = resolve(
        parsed("index", "--rpc", "http://other:8545", "--contract", ESCROW), *names, environ=env
    )
    assert (elsewhere.db_url, elsewhere.start_block) == ("sqlite:///crowdledger.db", 0)
    here = resolve(parsed("verify", "--rpc", "http://file:8545", "--contract", ESCROW), *names, environ=env)
    assert (here.db_url, here.start_block) == ("sqlite:///file.db", 7)  # the page's command: flags, same node


def test_bad_values_name_where_they_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^CROWDLEDGER_RPC_TIMEOUT: 'soon' is not a number of seconds"):
        resolve(parsed("index"), "rpc_timeout", environ={"CROWDLEDGER_RPC_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="CROWDLEDGER_MAX_ANSWER_BYTES: '12' is less than 1024 bytes"):
        resolve(parsed("index"), "max_answer_bytes", environ={"CROWDLEDGER_MAX_ANSWER_BYTES": "12"})
    with pytest.raises(ConfigError, match="CROWDLEDGER_RPC_URL: 'localhost:8545' is not an http"):
        resolve(parsed("index"), "rpc_url", environ={"CROWDLEDGER_RPC_URL": "localhost:8545"})
    with pytest.raises(ConfigError, match="no deployment file at .*missing.json"):
        resolve(parsed("index"), environ={"CROWDLEDGER_DEPLOYMENT": str(tmp_path / "missing.json")})
    wrong = ESCROW.replace("F", "f", 1)
    with pytest.raises(ConfigError, match=f"^CROWDLEDGER_CONTRACT: {wrong} has a wrong EIP-55 checksum"):
        resolve(parsed("index"), environ={"CROWDLEDGER_CONTRACT": wrong})
    bad_file = write_deployment(tmp_path / "bad.json", address=wrong)
    with pytest.raises(ConfigError, match="bad.json: .* wrong EIP-55 checksum .*did you mean " + ESCROW):
        resolve(parsed("index"), environ={"CROWDLEDGER_DEPLOYMENT": str(bad_file)})
    empty = resolve(parsed("index"), "rpc_timeout", environ={"CROWDLEDGER_RPC_TIMEOUT": "  "})
    assert empty.rpc_timeout == 30.0 and not empty.given("rpc_timeout")  # an empty variable is unset


@pytest.mark.parametrize("command", COMMANDS_WITH_A_NODE)
def test_every_command_that_talks_to_a_node_takes_its_deadline_and_answer_cap(command: str) -> None:
    args = parsed(command, "--rpc-timeout", "2.5", "--max-answer-bytes", "1MiB", "--rpc", "http://n:1")
    with rpc_client(resolve(args, "rpc_url", "rpc_timeout", "max_answer_bytes", environ={})) as rpc:
        assert (rpc.url, rpc.timeout, rpc.max_answer_bytes) == ("http://n:1", 2.5, 1 << 20)
    with pytest.raises(SystemExit):
        parsed(command, "--rpc-timeout", "0")


def test_every_setting_has_one_variable_named_after_it() -> None:
    assert {s.env for s in SETTINGS.values()} == {
        "CROWDLEDGER_RPC_URL",
        "CROWDLEDGER_CONTRACT",
        "CROWDLEDGER_DB_URL",
        "CROWDLEDGER_START_BLOCK",
        "CROWDLEDGER_FINALITY_DEPTH",
        "CROWDLEDGER_POLL_INTERVAL",
        "CROWDLEDGER_RPC_TIMEOUT",
        "CROWDLEDGER_MAX_ANSWER_BYTES",
        "CROWDLEDGER_API_URL",
    }
    # what serve and up hand the API's settings: the shared ones it knows, as resolved here
    settings = resolve(parsed("serve", "--db", "sqlite:///x.db"), "db_url", "finality_depth", environ={})
    assert api_settings(settings) == {"db_url": "sqlite:///x.db"}


def test_the_api_reads_the_settings_it_shares_by_the_same_names_and_defaults() -> None:
    """The API's pydantic settings and this table read one variable per setting: no drift."""
    from api.core.config import ENV_PREFIX, Settings

    api_fields = Settings.model_fields
    shared = [name for name in SETTINGS if name in api_fields]
    assert {"db_url", "rpc_url", "contract", "start_block", "finality_depth", "poll_interval"} <= set(shared)
    defaults = resolve(parsed("index"), *shared, environ={})
    for name in shared:
        assert ENV_PREFIX + name.upper() == SETTINGS[name].env
        assert api_fields[name].default == getattr(defaults, name), name


def test_index_follow_and_serve_no_follow_configured_by_the_environment_share_one_database(
    escrow: tuple[str, str], tmp_path: Path
) -> None:
    """The issue's case: both configured through CROWDLEDGER_* only, both on CROWDLEDGER_DB_URL."""
    url, address = escrow
    db = tmp_path / "shared.db"
    env = clean_env(
        CROWDLEDGER_RPC_URL=url,
        CROWDLEDGER_CONTRACT=address,
        CROWDLEDGER_DB_URL=f"sqlite:///{db}",
        CROWDLEDGER_AUDIT_INTERVAL="0",
    )
    indexed = subprocess.run(
        [sys.executable, "-m", "cli", "index", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert indexed.returncode == 0, indexed.stderr
    assert db.exists() and not (tmp_path / "crowdledger.db").exists()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--no-follow", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def stats() -> dict[str, object] | None:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/stats", timeout=2)
            except httpx.HTTPError:
                return None
            return answer.json() if answer.status_code == 200 else None

        assert wait_until(stats, timeout=60, interval=0.2) is not None
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert str(db) in output  # it says which database it serves: the one index wrote
    assert not (tmp_path / "crowdledger.db").exists()
