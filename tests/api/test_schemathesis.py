"""Property-based tests of the whole API from its own /openapi.json with Schemathesis: every
check (no 5xx, status codes, content types, headers and bodies as documented, negative data
rejected, positive data accepted), bounded in examples and time.

Schemathesis is one of the test tools of the main environment (pyproject's `dev` extra): its
command line sits beside the Python running the tests (.venv/bin/schemathesis)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import make_world
from tests.support.chain import EscrowChain

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


# A cursor is an opaque token: the schema says "a base64url string" but only tokens the API issued
# are valid, and the API answers any other with 400. So on the operations that take a cursor, a
# 400 is an expected answer to schema-valid input (every other check stays as strict as it is).
CONFIG = """
#
# An address in mixed case must carry its EIP-55 checksum, a rule no JSON Schema pattern can state
# (the parameters' descriptions say it): the API answers a generated mixed-case address with 422.
[[operations]]
include-path-regex = "^/(campaigns|backers/|ledger$)"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404", "422"]

[[operations]]
include-path-regex = "^/(credits|verify/backer)/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "422"]

# A document is stored only when the ledger commits to its hash and its bytes hash to it: for
# generated hashes and bytes, 404 (nothing commits to it) and 422 are the expected answers.
[[operations]]
include-path-regex = "^/documents/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "413", "422"]

[[operations]]
include-path = "/verify/tx/{{tx_hash}}"
parameters = {{ "tx_hash" = "{tx_hash}" }}
"""


def test_schemathesis_finds_no_server_error_or_schema_violation(history: EscrowChain, tmp_path: Path) -> None:
    if not SCHEMATHESIS.exists():  # never a skip: CI must run it
        pytest.fail(
            f"{SCHEMATHESIS} is missing: install the test tools (`make setup`: pyproject's dev extra)"
        )
    with make_world(history, "sqlite", tmp_path, audit_interval=3600) as world:
        pledge = next(e for e in world.get("/ledger", params={"limit": 500}).json()["data"] if e["kind"] == 2)
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG.format(tx_hash=pledge["tx_hash"]))
        command = [
            str(SCHEMATHESIS),
            "--config-file",
            str(config),
            "run",
            f"{world.api.url}/openapi.json",
            "--checks",
            "all",
            "--exclude-path",
            "/ledger/stream",  # an endless stream: covered by tests/api/test_following.py
            "--max-examples",
            "10",
            "--max-time",
            "30",
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "20",
            "--seed",
            "1",
            "--no-color",
            "--suppress-health-check",
            "all",
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
