"""Bad input never yields a 500: every malformed address, hash, cursor, seq, limit and filter is a
4xx whose message says what is wrong; unknown things are 404."""

from __future__ import annotations

import base64
import json

import pytest

from api.pagination import encode_cursor
from tests.api.conftest import World

INT64 = 2**63 - 1


def cursor_of(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).rstrip(b"=").decode()


# fmt: off
MALFORMED = [
    # (path, params, status, words the message must contain)
    ("/backers/0x1234", {}, 422, "address"),
    ("/backers/0x" + "g" * 40, {}, 422, "address"),
    ("/backers/" + "a" * 42, {}, 422, "address"),
    ("/backers/0x" + "ab" * 20 + "00", {}, 422, "address"),
    ("/verify/tx/0x1234", {}, 422, "tx_hash"),
    ("/verify/tx/0x" + "zz" * 32, {}, 422, "tx_hash"),
    ("/ledger/0", {}, 422, "seq"),
    ("/ledger/-1", {}, 422, "seq"),
    ("/ledger/abc", {}, 422, "seq"),
    ("/ledger/1.5", {}, 422, "seq"),
    (f"/ledger/{INT64 + 1}", {}, 422, "seq"),
    ("/ledger/" + "9" * 100, {}, 422, "seq"),
    ("/campaigns/-3", {}, 422, "campaign_id"),
    ("/campaigns/x", {}, 422, "campaign_id"),
    (f"/campaigns/{2**64}", {}, 422, "campaign_id"),
    (f"/campaigns/{2**64}/backers", {}, 422, "campaign_id"),
    ("/campaigns/1e3/ledger", {}, 422, "campaign_id"),
    ("/campaigns", {"limit": 0}, 422, "limit"),
    ("/campaigns", {"limit": 501}, 422, "limit"),
    ("/campaigns", {"limit": "ten"}, 422, "limit"),
    ("/ledger", {"limit": -5}, 422, "limit"),
    ("/ledger", {"after": -1}, 422, "after"),
    ("/ledger", {"after": "x"}, 422, "after"),
    ("/ledger", {"after": 2**70}, 422, "after"),
    ("/campaigns", {"state": "open"}, 422, "state"),
    ("/campaigns", {"sort": "random"}, 422, "sort"),
    ("/campaigns", {"creator": "bob"}, 422, "creator"),
    ("/campaigns", {"token": "0xabc"}, 422, "token"),
    ("/campaigns", {"token": "btc"}, 422, "token"),
    ("/ledger/export", {"format": "xml"}, 422, "format"),
    ("/ledger", {"cursor": "!!!"}, 422, "cursor"),
    ("/ledger", {"cursor": "a" * 600}, 422, "cursor"),
    ("/ledger", {"cursor": "abc"}, 400, "cursor"),
    ("/ledger", {"cursor": cursor_of(1, "ledger", "x")}, 400, "cursor"),
    ("/ledger", {"cursor": cursor_of(1, "ledger", -4)}, 400, "cursor"),
    ("/ledger", {"cursor": cursor_of(1, "ledger", 2**64)}, 400, "cursor"),
    ("/ledger", {"cursor": cursor_of(1, "ledger", 1, 2)}, 400, "cursor"),
    ("/ledger", {"cursor": cursor_of(2, "ledger", 1)}, 400, "cursor"),
    ("/ledger", {"cursor": base64.urlsafe_b64encode(b'{"a":1}').decode().rstrip("=")}, 400, "cursor"),
    ("/ledger", {"cursor": encode_cursor("campaigns:newest", (3,))}, 400, "another list"),
    ("/campaigns", {"cursor": encode_cursor("ledger", (3,))}, 400, "another list"),
    ("/campaigns", {"sort": "most_raised", "cursor": encode_cursor("campaigns:newest", (3,))}, 400, "another list"),
    ("/campaigns", {"sort": "most_raised", "cursor": cursor_of(1, "campaigns:most_raised", "12a", 3)}, 400, "cursor"),
    ("/campaigns", {"sort": "most_raised", "cursor": cursor_of(1, "campaigns:most_raised", "9" * 80, 3)}, 400, "cursor"),
    ("/campaigns/1/backers", {"cursor": encode_cursor("backers:2", ("0x" + "00" * 20,))}, 400, "another list"),
    ("/campaigns/1/backers", {"cursor": cursor_of(1, "backers:1", "0xnothex")}, 400, "cursor"),
    ("/backers/0x" + "ab" * 20, {"cursor": encode_cursor("backer:0x" + "cd" * 20, (1,))}, 400, "another list"),
]
# fmt: on


@pytest.mark.parametrize(("path", "params", "status", "words"), MALFORMED)
def test_malformed_input_is_a_4xx_that_says_what_is_wrong(
    world: World, path: str, params: dict, status: int, words: str
) -> None:
    response = world.get(path, params=params)
    assert response.status_code == status, (path, params, response.status_code, response.text)
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words in detail, detail


@pytest.mark.parametrize(
    "path",
    [
        "/campaigns/999999",
        "/campaigns/0",
        "/campaigns/999999/backers",
        "/campaigns/999999/ledger",
        "/campaigns/0/ledger",
        "/ledger/999999",
        f"/ledger/{INT64}",
    ],
)
def test_unknown_things_are_404(world: World, path: str) -> None:
    response = world.get(path)
    assert response.status_code == 404, response.text
    assert "no " in response.json()["detail"]


def test_a_cursor_wins_over_after(world: World) -> None:
    page = world.get(
        "/ledger", params={"after": 1, "cursor": encode_cursor("ledger", (3,)), "limit": 1}
    ).json()
    assert [e["seq"] for e in page["data"]] == [4]


def test_bad_last_event_id_is_a_400(world: World) -> None:
    response = world.get("/ledger/stream", headers={"Last-Event-ID": "seven"})
    assert response.status_code == 400 and "Last-Event-ID" in response.json()["detail"]


def test_unknown_routes_and_methods(world: World) -> None:
    assert world.get("/nothing-here").status_code == 404
    assert world.http.delete("/ledger/1").status_code == 405
