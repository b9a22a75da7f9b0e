"""`crowdledger publish FILE`: one line with the hash and the outcome, for each of the API's
answers (201 stored, 200 already stored, 404 nothing commits to it, 422 the bytes do not hash to
it, 413 too large), into the database directly (--db, the API's checks in its order) or through
an API (--api; here a stand-in that answers as `PUT /documents/0x{hash}` is specified)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from devnet.deploy import NodeAccount, connect, deploy_escrow, escrow_contract
from devnet.nodes import LocalNode, free_port
from ledger.core.documents import MAX_DOCUMENT_BYTES, document_hash
from ledger.db.documents import read_document
from ledger.db.engine import open_database
from tests.cli.conftest import clean_env
from tests.support.server import wait_until

ZERO = "0x" + "00" * 20
PICTURE = b"\x89PNG\r\n\x1a\n a picture of the campaign"
METADATA = (
    json.dumps(
        {
            "title": "A test campaign",
            "summary": "One line.",
            "description": "More lines.",
            "image": document_hash(PICTURE),
        }
    ).encode()
    + b"\n"
)
REPORT = b"Disclosure: the first invoices\n\nAttached.\n"


@dataclass
class Indexed:
    db: str
    committed: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Indexed]:
    """An escrow with a campaign whose metadata is METADATA and a disclosure of REPORT, indexed."""
    folder = tmp_path_factory.mktemp("publish")
    with LocalNode.start("anvil") as node:
        w3 = connect(node.url)
        owner = NodeAccount(w3.eth.accounts[0])
        deployment = deploy_escrow(w3, owner, fee_recipient=w3.eth.accounts[1])
        escrow = escrow_contract(w3, deployment.address).functions
        deadline = w3.eth.get_block("latest")["timestamp"] + 86_400
        metadata_hash = bytes.fromhex(document_hash(METADATA)[2:])
        escrow.createCampaign(ZERO, 10**18, deadline, 0, False, metadata_hash).transact(
            {"from": owner.address}
        )
        escrow.disclose(1, bytes.fromhex(document_hash(REPORT)[2:])).transact({"from": owner.address})
        db = f"sqlite:///{folder / 'ledger.db'}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli",
                "index",
                "--rpc",
                node.url,
                "--contract",
                deployment.address,
                "--db",
                db,
            ],
            cwd=folder,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    yield Indexed(db, {document_hash(METADATA), document_hash(REPORT)})


def publish(cwd: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "publish", *argv],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def files(folder: Path) -> dict[str, Path]:
    found = {
        "metadata.json": METADATA,
        "picture.png": PICTURE,
        "report.txt": REPORT,
        "stranger.txt": b"nothing on the ledger commits to this\n",
        "huge.bin": b"\0" * (MAX_DOCUMENT_BYTES + 1),
    }
    for name, body in found.items():
        (folder / name).write_bytes(body)
    return {name: folder / name for name in found}


def outcome(done: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    assert done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    return done.returncode, lines[0]


def test_publishing_into_the_database_checks_as_the_api_does(indexed: Indexed, tmp_path: Path) -> None:
    paths = files(tmp_path)
    meta, picture = document_hash(METADATA), document_hash(PICTURE)

    code, line = outcome(publish(tmp_path, str(paths["picture.png"]), "--db", indexed.db))
    assert code == 1 and line.startswith(f"{picture} refused: nothing on the ledger commits"), line
    code, line = outcome(publish(tmp_path, str(paths["metadata.json"]), "--db", indexed.db))
    assert code == 0 and line == f"{meta} stored ({len(METADATA):,} bytes) in the database"
    code, line = outcome(publish(tmp_path, str(paths["metadata.json"]), "--db", indexed.db))
    assert code == 0 and line.startswith(f"{meta} already stored in the database")
    # the picture is committed now: the stored metadata names it
    code, line = outcome(publish(tmp_path, str(paths["picture.png"]), "--db", indexed.db))
    assert code == 0 and line.startswith(f"{picture} stored"), line
    code, line = outcome(publish(tmp_path, str(paths["report.txt"]), "--db", indexed.db))
    assert code == 0 and line.startswith(f"{document_hash(REPORT)} stored"), line

    code, line = outcome(publish(tmp_path, str(paths["stranger.txt"]), "--db", indexed.db))
    assert code == 1 and "nothing on the ledger commits to this hash" in line
    code, line = outcome(publish(tmp_path, str(paths["stranger.txt"]), "--hash", meta, "--db", indexed.db))
    stranger = document_hash(paths["stranger.txt"].read_bytes())
    assert code == 1 and line == f"{meta} refused: stranger.txt's bytes hash to {stranger}, not to this hash"
    code, line = outcome(publish(tmp_path, str(paths["huge.bin"]), "--db", indexed.db))
    assert code == 1 and line.endswith(
        f"huge.bin is larger than {MAX_DOCUMENT_BYTES:,} bytes, the most a document may be"
    )

    engine = open_database(indexed.db)
    stored = read_document(engine, meta)
    assert stored is not None and stored.body == METADATA  # the exact bytes
    engine.dispose()


def test_the_database_comes_from_the_settings_and_failures_are_one_line(
    indexed: Indexed, tmp_path: Path
) -> None:
    paths = files(tmp_path)
    code, line = outcome(publish(tmp_path, str(paths["report.txt"]), CROWDLEDGER_DB_URL=indexed.db))
    assert code == 0 and document_hash(REPORT) in line  # stored or already stored
    (tmp_path / "deployments").mkdir()
    (tmp_path / "deployments" / "local.json").write_text(
        json.dumps({"address": "0x" + "11" * 20, "chain_id": 31337, "block": 1, "db_url": indexed.db})
    )
    code, line = outcome(publish(tmp_path, str(paths["report.txt"])))
    assert code == 0 and "already stored in the database" in line

    for argv, words in (
        ([str(tmp_path / "missing.json"), "--db", indexed.db], "cannot read"),
        ([str(paths["report.txt"]), "--db", f"sqlite:///{tmp_path / 'none.db'}"], "no database at"),
        ([str(paths["report.txt"]), "--hash", "0x12", "--db", indexed.db], "is not a document hash"),
        ([str(paths["report.txt"]), "--api", f"http://127.0.0.1:{free_port()}"], "connection refused"),
    ):
        done = publish(tmp_path, *argv)
        lines = done.stderr.splitlines()
        assert done.returncode == 2 and len(lines) == 1 and words in lines[0], done.stderr
        assert lines[0].startswith("crowdledger: error: ") and done.stdout == ""
    assert not (tmp_path / "none.db").exists()


class StandInApi(BaseHTTPRequestHandler):
    """PUT /documents/0x{hash} as the API specifies it: 413, then 404, then 422, then 201/200;
    `busy` answers 503 with Retry-After that many times first."""

    committed: set[str] = set()
    stored: dict[str, bytes] = {}
    busy = 0
    seen: list[str] = []

    def do_PUT(self) -> None:  # noqa: N802 - http.server's name
        wanted = self.path.rsplit("/", 1)[-1]
        size = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(size)
        type(self).seen.append(self.headers.get("Content-Type", ""))
        if type(self).busy:
            type(self).busy -= 1
            self.answer(503, {"detail": "busy"}, {"Retry-After": "0"})
        elif size > MAX_DOCUMENT_BYTES:
            self.answer(413, {"detail": "too large"})
        elif wanted not in self.committed:
            self.answer(404, {"detail": "nothing on the ledger commits to it"})
        elif document_hash(body) != wanted:
            self.answer(422, {"detail": "the bytes do not hash to it"})
        else:
            new = wanted not in self.stored
            self.stored[wanted] = body
            self.answer(201 if new else 200, {"hash": wanted})

    def answer(self, status: int, payload: dict[str, str], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    StandInApi.committed = {document_hash(METADATA), document_hash(REPORT)}
    StandInApi.stored, StandInApi.busy, StandInApi.seen = {}, 0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_publishing_through_the_api_says_each_answer_in_one_line(api: str, tmp_path: Path) -> None:
    paths = files(tmp_path)
    meta = document_hash(METADATA)
    code, line = outcome(publish(tmp_path, str(paths["metadata.json"]), "--api", api))
    assert code == 0 and line == f"{meta} stored ({len(METADATA):,} bytes) at {api}/documents/{meta}"
    assert StandInApi.stored[meta] == METADATA and StandInApi.seen == ["application/octet-stream"]
    code, line = outcome(publish(tmp_path, str(paths["metadata.json"]), "--api", api + "/"))
    assert code == 0 and line.startswith(f"{meta} already stored at {api}/documents/{meta}")
    code, line = outcome(publish(tmp_path, str(paths["stranger.txt"]), "--api", api))
    assert code == 1 and "refused: nothing on the ledger commits to this hash" in line
    code, line = outcome(publish(tmp_path, str(paths["stranger.txt"]), "--hash", meta, "--api", api))
    assert code == 1 and "stranger.txt's bytes hash to" in line
    code, line = outcome(publish(tmp_path, str(paths["huge.bin"]), "--api", api))
    assert (
        code == 1 and "huge.bin is larger than 1,048,576 bytes" in line and len(StandInApi.seen) == 4
    )  # not sent

    StandInApi.busy = 2  # the indexer holds SQLite's write lock: asked again after Retry-After
    code, line = outcome(publish(tmp_path, str(paths["report.txt"]), CROWDLEDGER_API_URL=api))
    assert code == 0 and line.startswith(f"{document_hash(REPORT)} stored")
    StandInApi.busy = 99
    done = publish(tmp_path, str(paths["report.txt"]), "--api", api)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "HTTP 503" in done.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("api.routes.documents") is None,
    reason="the API's PUT /documents is not in this checkout yet",
)
def test_publishing_through_the_real_api(indexed: Indexed, tmp_path: Path) -> None:
    """The same outcomes from `crowdledger serve`'s own PUT /documents/0x{hash}."""
    paths = files(tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--no-follow", "--db", indexed.db, "--port", str(port)],
        cwd=tmp_path,
        env=clean_env(CROWDLEDGER_AUDIT_INTERVAL="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert server.poll() is None
            try:
                return httpx.get(api + "/health", timeout=2).status_code in (200, 503)
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=60, interval=0.2)
        report = document_hash(REPORT)
        code, line = outcome(publish(tmp_path, str(paths["report.txt"]), "--api", api))
        assert code == 0 and line.startswith(f"{report} ") and "stored" in line, line
        code, line = outcome(publish(tmp_path, str(paths["stranger.txt"]), "--api", api))
        assert code == 1 and "nothing on the ledger commits to this hash" in line
        code, line = outcome(publish(tmp_path, str(paths["stranger.txt"]), "--hash", report, "--api", api))
        assert code == 1 and "stranger.txt's bytes hash to" in line
        served = httpx.get(f"{api}/documents/{report}", timeout=10)
        assert served.status_code == 200 and served.content == REPORT
    finally:
        server.terminate()
        server.wait(timeout=30)
