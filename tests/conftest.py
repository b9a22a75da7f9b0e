"""Suite-wide settings. The contract tests (tests/contracts) need eth-brownie, which lives in its
own environment (.venv-brownie): `make test` runs them there, under brownie's pytest plugin on the
anvil it launches, and everything else from .venv, where they are not collected. The ledger, API,
web and script tests start their own nodes on free ports."""

from __future__ import annotations

import importlib.util
import os

import pytest

REQUIRE_PG_ENV = "CROWDLEDGER_REQUIRE_PG"

collect_ignore = [] if importlib.util.find_spec("brownie") else ["contracts"]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """On CI (CROWDLEDGER_REQUIRE_PG=1) a PostgreSQL test that skips is a failure."""
    if os.environ.get(REQUIRE_PG_ENV) == "1" and report.skipped and "postgresql" in report.nodeid:
        report.outcome = "failed"
        report.longrepr = f"{report.nodeid}: PostgreSQL tests must run on CI (CROWDLEDGER_TEST_PG_URL)"
