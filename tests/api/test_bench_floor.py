"""`bench/api.py --floor` serves the API with the measured endpoints answering a recorded answer, to
show what routing, validation and the middlewares cost without the routes' own work. Its figures
mean something only if it still routes and validates exactly as the API does and sends the
recorded bytes: these tests hold it to that. The floor rewrites the endpoints' code, so it runs in a
process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from devnet.nodes import free_port
from tests.support.server import ROOT, wait_until

ANSWERS = {
    "campaign": {"body": '{"id":7,"floor":"campaign"}', "headers": {}},
    "backer": {"body": '{"address":"0xabc","floor":"backer"}', "headers": {}},
    "ledger_page": {"body": '{"data":[],"next":null,"floor":"page"}', "headers": {}},
    "entry": {
        "body": '{"seq":3,"floor":"entry"}',
        "headers": {"ETag": '"0x01"', "Cache-Control": "public, max-age=31536000, immutable"},
    },
}
ADDRESS = "0x" + "ab" * 20


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a floor server on an empty SQLite database."""
    work = tmp_path_factory.mktemp("floor")
    answers = work / "answers.json"
    answers.write_text(json.dumps(ANSWERS))
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "api.py"),
            "serve",
            "floor",
            str(port),
            f"sqlite:///{work / 'l.db'}",
            str(answers),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(
                f"the floor server exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            return httpx.get(url + "/health", timeout=1).status_code in (200, 503)
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=60, interval=0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/campaigns/7", "campaign"),
        (f"/backers/{ADDRESS}", "backer"),
        ("/ledger?after=5&limit=20", "ledger_page"),
        ("/ledger/3", "entry"),
    ],
)
def test_the_measured_endpoints_send_the_recorded_answer(floor: str, path: str, kind: str) -> None:
    answer = httpx.get(floor + path, timeout=5)
    assert answer.status_code == 200
    assert answer.content == ANSWERS[kind]["body"].encode()
    assert answer.headers["content-type"] == "application/json"
    for name, value in ANSWERS[kind]["headers"].items():
        assert answer.headers[name] == value


@pytest.mark.parametrize(
    "path",
    [
        "/campaigns/x",
        "/campaigns/-1",
        "/backers/0x12",
        "/backers/0x" + "aB" * 20,  # mixed case without a valid checksum
        "/ledger?after=-1",
        "/ledger?limit=0",
        "/ledger?cursor=%2B%2B",
        "/ledger/0",
    ],
)
def test_they_still_validate_as_the_api_does(floor: str, path: str) -> None:
    answer = httpx.get(floor + path, timeout=5)
    assert answer.status_code == 422, answer.text


def test_the_other_routes_are_the_apis(floor: str) -> None:
    answer = httpx.get(floor + "/campaigns", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"data": [], "next": None, "count": 0}
