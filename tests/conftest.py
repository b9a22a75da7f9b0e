"""Suite-wide settings. Contract tests (tests/contracts) run under brownie's pytest plugin on the
anvil it launches; the ledger and API tests start their own nodes on free ports."""

from __future__ import annotations

import os

import pytest

REQUIRE_PG_ENV = "CROWDLEDGER_REQUIRE_PG"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """On CI (CROWDLEDGER_REQUIRE_PG=1) a PostgreSQL test that skips is a failure."""
    if os.environ.get(REQUIRE_PG_ENV) == "1" and report.skipped and "postgresql" in report.nodeid:
        report.outcome = "failed"
        report.longrepr = f"{report.nodeid}: PostgreSQL tests must run on CI (CROWDLEDGER_TEST_PG_URL)"
