"""Every command-line test runs in a folder of its own with no CROWDLEDGER_* setting from the
machine (a `make run` in the checkout writes deployments/local.json, which every command reads):
what a test configures is all a command sees. `clean_env` is the environment for subprocesses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devnet.deploy import NodeAccount, connect, deploy_escrow
from devnet.nodes import LocalNode

KEPT = {"CROWDLEDGER_TEST_PG_URL", "CROWDLEDGER_REQUIRE_PG"}


def clean_env(**settings: str) -> dict[str, str]:
    """The process environment without CROWDLEDGER_* settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDLEDGER_") or k in KEPT}
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **settings}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test's own working folder, and no CROWDLEDGER_* setting in this process."""
    for name in list(os.environ):
        if name.startswith("CROWDLEDGER_") and name not in KEPT:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture(scope="module")
def escrow() -> Iterator[tuple[str, str]]:
    """(node URL, address) of an empty escrow on an anvil of the module's own."""
    with LocalNode.start("anvil") as node:
        w3 = connect(node.url)
        deployment = deploy_escrow(w3, NodeAccount(w3.eth.accounts[0]), fee_recipient=w3.eth.accounts[1])
        yield node.url, deployment.address
