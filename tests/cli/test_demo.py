"""The demo `crowdledger up` prepares (cli/demo.py): the commands its banner prints work as printed
from the same folder, the page's "Check it yourself" command too (with and without --db); its
campaigns of the settled past (expired, stale-aborted, paid through a credit) are indexed and
audit CLEAN; its documents are published; it ends at about the wall clock's time."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cli.demo import Demo, prepare, start_chain
from devnet.nodes import LocalNode, free_port
from ledger.core.documents import read_metadata
from tests.cli.conftest import clean_env

API = "http://127.0.0.1:8000"


@dataclass
class Prepared:
    node: LocalNode
    demo: Demo
    folder: Path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    folder = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    mp.chdir(folder)  # where `make run` runs: the deployment file goes to deployments/local.json here
    for name in [n for n in os.environ if n.startswith("CROWDLEDGER_") and "TEST_PG" not in n]:
        mp.delenv(name)
    node = start_chain(free_port())
    try:
        yield Prepared(node, prepare(node.url, folder / "data", backers=12, seed=3), folder)
    finally:
        node.stop()
        mp.undo()


def run(folder: Path, command: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command.split("   # ")[0])
    assert argv[0] == "crowdledger"
    return subprocess.run(
        [sys.executable, "-m", "cli", *argv[1:]],
        cwd=folder,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_banners_commands_work_as_printed(prepared: Prepared) -> None:
    demo, folder = prepared.demo, prepared.folder
    assert demo.deployment_path == Path("deployments/local.json")
    assert (folder / "deployments" / "local.json").exists()
    banner = demo.banner(API)
    printed = [line.strip() for line in banner.splitlines() if line.strip().startswith("crowdledger ")]
    assert [line.split()[1] for line in printed] == ["verify", "verify", "audit", "export", "publish"]
    assert "--db" not in " ".join(printed[:3])  # bare: the deployment file names the demo's database
    outputs = {}
    for line in printed[:-1]:  # publish --api needs the running API: below, into the database
        done = run(folder, line)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        outputs[line.split()[1] + (line.split()[2] if line.split()[1] == "verify" else "")] = done.stdout
    assert "in the indexed ledger" in outputs["verify--tx"], outputs["verify--tx"]
    assert "CLEAN" in outputs["audit"], outputs["audit"]
    assert (folder / "ledger.ndjson").stat().st_size > 0


def test_the_pages_check_it_yourself_command_with_and_without_db(prepared: Prepared) -> None:
    demo, folder = prepared.demo, prepared.folder
    tx, address = demo.example["tx"], demo.deployment.address
    page = f"crowdledger verify --tx {tx} --rpc {prepared.node.url} --contract {address}"
    for command in (page, f"{page} --db {demo.db_url}"):
        done = run(folder, command)
        assert done.returncode == 0 and "in the indexed ledger" in done.stdout, done.stdout + done.stderr
    elsewhere = folder / "elsewhere"  # no deployment file: on-chain alone, still a verdict
    elsewhere.mkdir()
    done = run(elsewhere, page)
    assert done.returncode == 0 and "in the indexed ledger" not in done.stdout, done.stdout + done.stderr


def test_publishing_a_seeded_document_from_the_demos_folder(prepared: Prepared) -> None:
    digest, body = prepared.demo.summary.documents[0]
    document = prepared.folder / "campaign.json"
    document.write_bytes(body)
    done = run(prepared.folder, f"crowdledger publish {document}")
    assert done.returncode == 0 and done.stdout.startswith(f"{digest} already stored in the database"), (
        done.stdout + done.stderr
    )


def test_the_settled_past_is_indexed_and_every_document_published(prepared: Prepared) -> None:
    demo = prepared.demo
    outcomes = demo.summary.outcomes
    assert set(outcomes) == {"expired", "stale", "credit"}
    assert demo.summary.campaigns["Expired"] == [outcomes["expired"]]
    assert outcomes["stale"] in demo.summary.campaigns["Aborted"]
    assert demo.summary.stale_aborts == 1 and demo.summary.credits == 1 == demo.summary.credit_withdrawals
    engine = create_engine(demo.db_url)
    with engine.connect() as conn:
        cause = conn.execute(
            text("SELECT abort_cause FROM campaigns WHERE campaign_id = :id"), {"id": outcomes["stale"]}
        ).scalar()
        assert cause == "silence"
        kinds = dict(conn.execute(text("SELECT kind, count(*) FROM ledger_entries GROUP BY kind")).all())
        assert kinds.get(14) == 1 and kinds.get(15) == 1 and kinds.get(16) == 1, kinds
        credited, withdrawn = conn.execute(text("SELECT credited_total, withdrawn_total FROM credits")).one()
        assert int(credited) == int(withdrawn) > 0
        expired_refunds = conn.execute(
            text("SELECT count(*) FROM ledger_entries WHERE kind = 6 AND campaign_id = :id"),
            {"id": outcomes["expired"]},
        ).scalar()
        assert expired_refunds and expired_refunds > 0
        # every campaign names itself: its metadata document stored, and it reads as metadata
        rows = conn.execute(
            text(
                "SELECT c.campaign_id, d.body FROM campaigns c LEFT JOIN documents d ON d.hash = c.metadata_hash"
            )
        ).all()
        tip = conn.execute(text("SELECT tip_timestamp FROM sync_state")).scalar()
    engine.dispose()
    assert rows and all(body is not None for _, body in rows), [cid for cid, body in rows if body is None]
    titles = {cid: read_metadata(bytes(body)).title for cid, body in rows}
    assert titles == demo.summary.titles
    assert demo.published.get(201) == len(demo.summary.documents)  # reports, disclosures, pictures too
    assert abs(int(tip) - time.time()) < 3 * 86_400  # the live demo ends about now, not half a year on
