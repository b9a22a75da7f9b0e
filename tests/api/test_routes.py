"""Every route against a ledger the real indexer built from a real anvil, on SQLite and
PostgreSQL: answers agree with the contract and with each other, follow their response models,
and lists paginate without gap or repeat."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest
from eth_utils import to_checksum_address
from sqlalchemy import select

from api.pagination import MAX_LIMIT
from api.schemas.audit import AuditPublic
from api.schemas.backers import BackerPublic
from api.schemas.campaigns import CampaignBackersPublic, CampaignPublic, CampaignsPublic
from api.schemas.health import HealthPublic
from api.schemas.ledger import EntriesPublic, EntryDetailPublic
from api.schemas.stats import StatsPublic
from api.schemas.verify import BackerVerificationPublic, TxVerificationPublic
from ledger.audit.export_reader import read_export
from ledger.core.hashing import HashChain
from ledger.core.records import ETH, LedgerEntry
from ledger.db.schema import positions
from tests.api.conftest import World, conforms

STATES = ["funding", "succeeded", "failed", "cancelled", "claimed", "in_delivery", "aborted", "expired"]


def ok(world: World, path: str, model: Any, **params: Any) -> dict[str, Any]:
    response = world.get(path, params=params)
    assert response.status_code == 200, (path, params, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    conforms(model, body)  # the answer is what /openapi.json promises
    return body


def walk(world: World, path: str, model: Any, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10_000):
        page = ok(world, path, model, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        assert len(page["data"]) <= limit
        items += page["data"]
        cursor = page["next"]
        if cursor is None:
            return items
        assert page["data"], "a page with a next cursor is never empty"
    raise AssertionError("pagination did not end")


def all_campaigns(world: World) -> list[dict[str, Any]]:
    return ok(world, "/campaigns", CampaignsPublic, limit=MAX_LIMIT)["data"]


# --------------------------------------------------------------------------------- campaigns


def test_campaigns_agree_with_the_contract(world: World) -> None:
    view = world.chain.escrow.functions
    campaigns = all_campaigns(world)
    assert len(campaigns) == view.campaignCount().call() > 5
    seen_states = set()
    for c in campaigns:
        onchain = view.getCampaign(c["id"]).call()
        assert c["creator"] == onchain[0] and c["token"] == onchain[1]
        assert int(c["goal"]) == onchain[2] and int(c["pledged"]) == onchain[7]
        assert c["state"] == STATES[view.campaignState(c["id"]).call()]
        if onchain[1] == ETH:
            assert c["asset"] == {
                "address": None,
                "symbol": "ETH",
                "name": "Ether",
                "decimals": 18,
                "assumed": False,
                "display_symbol": "ETH",
            }
        else:
            assert c["asset"]["address"] == c["token"] and c["asset"]["decimals"] == 18
        assert c["abort_cause"] == ("failed_vote" if c["aborted"] else None)
        assert c["metadata"] == "not_published" and c["title"] is None and c["summary"] is None
        assert c["progress_bps"] == int(c["pledged"]) * 10_000 // int(c["goal"])
        assert c["deadline"].endswith("Z") and c["metadata_hash"].startswith("0x")
        detail = ok(world, f"/campaigns/{c['id']}", CampaignPublic)
        assert detail == c
        seen_states.add(c["state"])
    assert {"funding", "claimed"} <= seen_states


def test_campaign_filters_and_sorts(world: World) -> None:
    campaigns = all_campaigns(world)
    assert [c["id"] for c in campaigns] == sorted((c["id"] for c in campaigns), reverse=True)  # newest first
    for state in STATES:
        got = ok(world, "/campaigns", CampaignsPublic, state=state, limit=MAX_LIMIT)
        assert [c["id"] for c in got["data"]] == [c["id"] for c in campaigns if c["state"] == state]
        assert got["count"] == len(got["data"])
    creator = campaigns[0]["creator"]
    got = ok(world, "/campaigns", CampaignsPublic, creator=creator.lower(), limit=MAX_LIMIT)["data"]
    assert got and all(c["creator"] == creator for c in got)
    assert len(got) == sum(c["creator"] == creator for c in campaigns)
    token = world.chain.token.address
    for value, expected in ((token, token), ("eth", ETH), ("ETH", ETH), (ETH, ETH)):
        got = ok(world, "/campaigns", CampaignsPublic, token=value, limit=MAX_LIMIT)["data"]
        assert [c["id"] for c in got] == [c["id"] for c in campaigns if c["token"] == expected]
    raised = ok(world, "/campaigns", CampaignsPublic, sort="most_raised", limit=MAX_LIMIT)["data"]
    assert [(int(c["pledged"]), c["id"]) for c in raised] == sorted(
        ((int(c["pledged"]), c["id"]) for c in campaigns), reverse=True
    )
    ending = ok(world, "/campaigns", CampaignsPublic, sort="ending_soon", limit=MAX_LIMIT)["data"]
    assert ending and all(c["seconds_left"] > 0 for c in ending)
    assert [(c["deadline"], c["id"]) for c in ending] == sorted((c["deadline"], c["id"]) for c in ending)
    assert {c["id"] for c in ending} == {c["id"] for c in campaigns if c["seconds_left"] > 0}
    both = ok(world, "/campaigns", CampaignsPublic, state="funding", token="eth", sort="most_raised")
    assert all(c["state"] == "funding" and c["token"] == ETH for c in both["data"])


def test_campaign_backers_and_ledger(world: World) -> None:
    view = world.chain.escrow.functions
    for c in all_campaigns(world):
        backers = walk(world, f"/campaigns/{c['id']}/backers", CampaignBackersPublic, limit=2)
        assert [b["backer"] for b in backers] == sorted((b["backer"] for b in backers), key=str.lower)
        assert len(backers) == c["backer_count"]  # every address that ever pledged
        for b in backers:
            assert int(b["balance"]) == view.pledgeOf(c["id"], b["backer"]).call()
            if c["state"] == "claimed" and int(b["balance"]) > 0:
                assert b["status"] == "released"
            if c["state"] in ("failed", "cancelled") and int(b["balance"]) > 0:
                assert b["status"] == "refundable"
        entries = walk(world, f"/campaigns/{c['id']}/ledger", EntriesPublic, limit=3)
        assert entries[0]["kind_name"] == "campaign_created" and entries[0]["seq"] == c["created_seq"]
        assert all(e["campaign_id"] == c["id"] for e in entries)
        assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
        assert entries[-1]["seq"] == c["last_seq"]


# --------------------------------------------------------------------------------- backers


def test_backer_positions(world: World) -> None:
    view = world.chain.escrow.functions
    with world.store.engine.connect() as conn:
        backers = sorted({r.backer for r in conn.execute(select(positions.c.backer))})
    assert backers
    for backer in backers:
        items = walk(world, f"/backers/{backer.upper().replace('0X', '0x')}", BackerPublic, limit=1)
        assert items
        for item in items:
            campaign, position = item["campaign"], item["position"]
            assert (
                int(position["balance"]) == view.pledgeOf(campaign["id"], to_checksum_address(backer)).call()
            )
            total = (
                int(position["pledged_total"])
                - int(position["unpledged_total"])
                - int(position["refunded_total"])
            )
            if campaign["state"] == "aborted" and int(position["refunded_total"]):
                assert (
                    int(position["balance"]) == 0 < total
                )  # a pro-rata refund after an abort empties the position
            else:
                assert total == int(position["balance"])
            expected = {
                "claimed": "released",
                "failed": "refundable",
                "cancelled": "refundable",
                "in_delivery": "in_delivery",
                "aborted": "refundable",
            }.get(campaign["state"], "escrowed")
            if int(position["balance"]) == 0:
                expected = "refunded" if int(position["refunded_total"]) else "withdrawn"
            assert position["status"] == expected
            reason = {"failed": "failed", "cancelled": "cancelled", "aborted": "failed_vote"}.get(
                campaign["state"]
            )
            if expected == "refundable":
                assert position["reason"] == reason and position["refundable"] != "0"
            elif expected in ("escrowed", "released", "in_delivery", "withdrawn"):
                assert position["reason"] is None
    nobody = ok(world, "/backers/0x" + "ab" * 20, BackerPublic)
    assert nobody == {"address": to_checksum_address("0x" + "ab" * 20), "data": [], "next": None}


# --------------------------------------------------------------------------------- ledger


def test_ledger_pages_walk_the_whole_chain_without_gap_or_repeat(world: World) -> None:
    length = world.chain.escrow.functions.ledgerLength().call()
    for limit in (1, 7, 50):
        entries = walk(world, "/ledger", EntriesPublic, limit=limit)
        assert [e["seq"] for e in entries] == list(range(1, length + 1))
    chain = HashChain.genesis(world.chain.w3.eth.chain_id, world.chain.address)
    for e in entries:  # every entry as served chains from the one before it, from genesis
        assert e["account"] == to_checksum_address(e["account"])
        assert e["block_time"].endswith("Z")
        assert (e["fee"] is not None) == (e["kind"] == 5) and (e["fee_token"] is not None) == (e["kind"] == 7)
        chain.append(
            LedgerEntry(
                seq=e["seq"],
                kind=e["kind"],
                campaign_id=e["campaign_id"],
                account=e["account"].lower(),
                amount=int(e["amount"]),
                detail=e["detail"],
                head=e["head"],
                block_number=e["block_number"],
                block_hash=e["block_hash"],
                tx_hash=e["tx_hash"],
                log_index=e["log_index"],
            )
        )
    assert chain.head == "0x" + world.chain.escrow.functions.ledgerHead().call().hex()
    after = ok(world, "/ledger", EntriesPublic, after=length - 3)["data"]
    assert [e["seq"] for e in after] == [length - 2, length - 1, length]
    assert ok(world, "/ledger", EntriesPublic, after=length)["data"] == []


def test_ledger_entry_detail_and_caching(world: World) -> None:
    length = world.chain.escrow.functions.ledgerLength().call()
    previous = HashChain.genesis(world.chain.w3.eth.chain_id, world.chain.address).head
    listed = {e["seq"]: e for e in walk(world, "/ledger", EntriesPublic, limit=MAX_LIMIT)}
    finals = provisionals = 0
    for seq in range(1, length + 1):
        response = world.get(f"/ledger/{seq}")
        assert response.status_code == 200
        entry = response.json()
        conforms(EntryDetailPublic, entry)
        assert entry["previous_head"] == previous
        assert {k: v for k, v in entry.items() if k != "previous_head"} == listed[seq]
        receipt = world.chain.w3.eth.get_transaction_receipt(entry["tx_hash"])
        assert receipt["blockNumber"] == entry["block_number"]
        previous = entry["head"]
        if entry["final"]:
            finals += 1
            assert response.headers["etag"] == f'"{entry["head"]}"'
            assert "immutable" in response.headers["cache-control"]
            again = world.get(f"/ledger/{seq}", headers={"If-None-Match": response.headers["etag"]})
            assert again.status_code == 304 and again.content == b""
        else:
            provisionals += 1
            assert response.headers["cache-control"] == "no-cache" and "etag" not in response.headers
    assert finals and provisionals
    assert world.get(f"/ledger/{length + 1}").status_code == 404


def test_export_streams_every_entry(world: World) -> None:
    listed = walk(world, "/ledger", EntriesPublic, limit=MAX_LIMIT)
    ndjson = world.get("/ledger/export", params={"format": "ndjson"})
    assert ndjson.status_code == 200 and ndjson.headers["content-type"].startswith("application/x-ndjson")
    lines = ndjson.content.splitlines()
    assert [orjson.loads(line)["seq"] for line in lines] == [e["seq"] for e in listed]
    exported = [entry for _, entry in read_export(io.BytesIO(ndjson.content))]
    assert [e.head for e in exported] == [e["head"] for e in listed]
    csv_text = world.get("/ledger/export", params={"format": "csv"})
    assert csv_text.status_code == 200 and csv_text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_text.text)))
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in listed]
    tail = world.get("/ledger/export", params={"after": len(listed) - 2}).content.splitlines()
    assert [orjson.loads(line)["seq"] for line in tail] == [len(listed) - 1, len(listed)]


# --------------------------------------------------------------------------------- the rest


def test_stats_add_up(world: World) -> None:
    stats = ok(world, "/stats", StatsPublic)
    campaigns = all_campaigns(world)
    assert stats["campaigns"] == len(campaigns)
    assert stats["campaigns_by_state"] == {s: sum(c["state"] == s for c in campaigns) for s in STATES}
    assert stats["entries"] == world.chain.escrow.functions.ledgerLength().call()
    by_token = {t["token"]: t for t in stats["tokens"]}
    for token, t in by_token.items():
        mine = [c for c in campaigns if c["token"] == token]
        successful = [c for c in mine if c["state"] in ("succeeded", "claimed", "in_delivery")]
        assert t["campaigns"] == len(mine)
        assert int(t["pledged"]) == sum(int(c["pledged"]) for c in mine)
        assert int(t["raised"]) == sum(int(c["pledged"]) for c in successful)
        assert int(t["claimed"]) == sum(int(c["claimed_amount"]) for c in mine)
        assert int(t["escrowed"]) == sum(int(c["escrowed"]) for c in mine)
        if successful:
            assert int(t["average_raised"]) == int(t["raised"]) // len(successful)
    ended = [c for c in campaigns if c["state"] != "funding"]
    successful = [c for c in ended if c["state"] in ("succeeded", "claimed", "in_delivery")]
    assert stats["success_rate"] == pytest.approx(len(successful) / len(ended))
    with world.store.engine.connect() as conn:
        assert stats["backers"] == len({r.backer for r in conn.execute(select(positions.c.backer))})


def test_health_metrics_and_audit(world: World) -> None:
    health = ok(world, "/health", HealthPublic)
    assert world.get("/campaigns/1").status_code == 200 and world.get("/campaigns/999999").status_code == 404
    tip = world.chain.w3.eth.block_number
    assert health["ok"] and health["database"] and health["node"]
    assert health["indexed_block"] == health["node_block"] == tip and health["lag_blocks"] == 0
    assert health["final_block"] == tip - 3 and health["follower"] == "off"
    metrics = world.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert f"crowdledger_indexed_block {tip}" in text and "crowdledger_lag_blocks 0" in text
    assert 'crowdledger_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert 'crowdledger_http_request_duration_seconds_bucket{route="/health",le="+Inf"}' in text
    for status in (200, 404):  # labelled by the route's template, found or not
        assert (
            f'crowdledger_http_requests_total{{method="GET",route="/campaigns/{{campaign_id}}",status="{status}"}}'
            in text
        )
    from tests.support.server import wait_until

    audit = wait_until(lambda: (a := world.get("/audit").json())["status"] != "pending" and a, timeout=60)
    conforms(AuditPublic, audit)
    assert audit["status"] == "ok" and audit["ok"] and audit["onchain_match"], audit
    assert (
        audit["length"] == world.chain.escrow.functions.ledgerLength().call() == audit["db_entries_compared"]
    )
    assert audit["head"] == "0x" + world.chain.escrow.functions.ledgerHead().call().hex()
    assert all(s["solvent"] for s in audit["solvency"]) and audit["findings"] == []


def test_verify_transaction(world: World) -> None:
    pledge = next(e for e in walk(world, "/ledger", EntriesPublic, limit=MAX_LIMIT) if e["kind"] == 2)
    result = ok(world, f"/verify/tx/{pledge['tx_hash'].upper().replace('0X', '0x')}", TxVerificationPublic)
    assert result["ok"] and result["status"] == "success"
    assert [e["seq"] for e in result["entries"]] == [pledge["seq"]]
    assert result["entries"][0]["head_matches"] and result["entries"][0]["database_matches"]
    missing = world.get("/verify/tx/0x" + "12" * 32)
    assert missing.status_code == 404 and "transaction" in missing.json()["detail"].lower()


def test_verify_backer_checks_every_position_against_the_chain(world: World) -> None:
    pledge = next(e for e in walk(world, "/ledger", EntriesPublic, limit=MAX_LIMIT) if e["kind"] == 2)
    result = ok(world, f"/verify/backer/{pledge['account'].lower()}", BackerVerificationPublic)
    assert result["ok"] and result["campaigns"], result
    for campaign in result["campaigns"]:
        onchain = world.chain.escrow.functions.pledgeOf(
            campaign["campaign_id"], world.chain.w3.to_checksum_address(pledge["account"])
        ).call()
        assert campaign["matches_chain"] and campaign["pledge_of_onchain"] == str(onchain)
    assert any(c["campaign_id"] == pledge["campaign_id"] for c in result["campaigns"])
    assert world.get("/verify/backer/0x1234").status_code == 422


def test_progress_is_capped_for_tiny_goals() -> None:
    from api.queries.labels import Labels
    from api.schemas.campaigns import MAX_PROGRESS_BPS, campaign_public
    from api.schemas.common import asset_public
    from ledger.core.metadata import ETHER
    from ledger.core.records import ETH, Campaign
    from ledger.core.status import CampaignHoldings

    campaign = Campaign(1, ETH, ETH, 1, 10**10, 0, True, 0, "0x" + "0" * 64, 1, 1, None, pledged=2 * 10**15)
    labels = Labels({ETH: asset_public(ETHER, "ETH")}, {}, {1: CampaignHoldings(0, 0, 0, 0)})
    assert campaign_public(campaign, 0, labels)["progress_bps"] == MAX_PROGRESS_BPS


def test_cors_is_open_for_get(world: World) -> None:
    response = world.get("/campaigns/1", headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = world.http.options(
        "/campaigns", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]
    assert world.http.post("/campaigns").status_code == 405


def test_openapi_documents_every_route(world: World) -> None:
    spec = world.get("/openapi.json").json()
    for path in (
        "/campaigns",
        "/campaigns/{campaign_id}",
        "/campaigns/{campaign_id}/backers",
        "/campaigns/{campaign_id}/ledger",
        "/campaigns/{campaign_id}/milestones",
        "/campaigns/{campaign_id}/votes",
        "/campaigns/{campaign_id}/disclosures",
        "/backers/{address}",
        "/backers/{address}/votes",
        "/ledger",
        "/ledger/{seq}",
        "/ledger/export",
        "/ledger/stream",
        "/verify/tx/{tx_hash}",
        "/verify/backer/{address}",
        "/audit",
        "/stats",
        "/health",
        "/metrics",
    ):
        operation = spec["paths"][path]["get"]
        assert operation.get("description"), path
        assert "200" in operation["responses"], path
