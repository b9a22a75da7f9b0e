"""Audit throughput (a benchmark, not a test).

    python bench/audit.py [--entries 1000000] [--chain-entries 100000]

1. Offline replay: writes an export of `--entries` valid ledger entries (a hash chain computed
   here, over 1,000 campaigns and 100,000 backers), then times the offline audit on it in this
   process (ledger.audit.offline.audit_export, what `crowdledger audit --from` runs: hash chain,
   seq continuity, terms, totals), best of two. Target: >= 150,000 entries/s on this machine (exit 1
   on a miss), printed beside a bare Keccak-256 loop over the same preimages.
2. On-chain audit: on a fresh anvil with `--chain-entries` entries (as bench/index.py builds them),
   times the chain replay part of `audit_chain` and the full audit (views and solvency too) beside
   one raw eth_getLogs over the same range, and prints each as a ratio of the raw rate.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.audit.chain_audit import audit_chain
from ledger.audit.export import write_export  # noqa: E402
from ledger.audit.offline import audit_export  # noqa: E402
from ledger.core.hashing import campaign_terms_detail, genesis_head, keccak256, next_head  # noqa: E402
from ledger.core.records import ETH, CampaignTerms, Kind, LedgerEntry  # noqa: E402

CONTRACT = "0x" + "c1" * 20
TARGET = 150_000  # entries/s of the offline replay
CHAIN_ID = 31337
ZERO = "0x" + "0" * 64


def synthetic_ledger(entries: int, campaigns: int = 1_000, backers: int = 100_000) -> Iterator[LedgerEntry]:
    """A valid ledger: `campaigns` creations, then pledges and some unpledges, chained."""
    head = genesis_head(CHAIN_ID, CONTRACT)
    creator = "0x" + "cc" * 20
    accounts = ["0x" + keccak256(b"backer %d" % i)[:20].hex() for i in range(backers)]
    block_hash = tx_hash = ZERO
    for seq in range(1, entries + 1):
        block = 1 + seq // 500
        if seq <= campaigns:
            terms = CampaignTerms(
                ETH, 10**30, 2_000_000_000, 0, False, 250, "0x" + keccak256(b"%d" % seq).hex()
            )
            detail = campaign_terms_detail(
                terms.token, terms.deadline, 0, False, terms.fee_bps, bytes.fromhex(terms.metadata_hash[2:])
            )
            head = next_head(head, seq, Kind.CAMPAIGN_CREATED, seq, creator, terms.goal, detail)
            yield LedgerEntry(
                seq,
                1,
                seq,
                creator,
                terms.goal,
                "0x" + detail.hex(),
                "0x" + head.hex(),
                block,
                block_hash,
                tx_hash,
                seq % 500,
                1_700_000_000 + block,
                terms,
            )
            continue
        n = seq - campaigns
        if n % 10 == 0:  # unpledge 1 wei of the pledge just before it (same backer and campaign)
            kind, amount, n = Kind.UNPLEDGED, 1, n - 1
        else:
            kind, amount = Kind.PLEDGED, 10**15 + n
        account, campaign = accounts[n % backers], 1 + (n * 7919) % campaigns
        head = next_head(head, seq, kind, campaign, account, amount, bytes(32))
        yield LedgerEntry(
            seq,
            int(kind),
            campaign,
            account,
            amount,
            ZERO,
            "0x" + head.hex(),
            block,
            block_hash,
            tx_hash,
            seq % 500,
            1_700_000_000 + block,
        )


def keccak_loop(path: Path, limit: int) -> tuple[float, int]:
    """A bare Keccak-256 loop over the preimages of the export's first `limit` entries (each
    entry's 224 bytes, built beforehand): seconds and count. The machine's own yardstick."""
    from ledger.audit.export_reader import read_export
    from ledger.core.hashing import address_bytes, entry_preimage, keccak256

    preimages = []
    with open(path, "rb") as handle:
        previous = bytes(32)
        for _, entry in read_export(handle):
            assert isinstance(entry, LedgerEntry)
            preimages.append(
                entry_preimage(
                    previous,
                    entry.seq,
                    entry.kind,
                    entry.campaign_id,
                    address_bytes(entry.account),
                    entry.amount,
                    bytes.fromhex(entry.detail[2:]),
                )
            )
            previous = bytes.fromhex(entry.head[2:])
            if len(preimages) >= limit:
                break
    start = time.perf_counter()
    for preimage in preimages:
        keccak256(preimage)
    return time.perf_counter() - start, len(preimages)


def bench_offline(entries: int, workdir: Path) -> bool:
    path = workdir / f"ledger-{entries}.ndjson"
    if not path.exists():
        print(f"writing an export of {entries:,} entries to {path} ...", flush=True)
        with open(path.with_suffix(".partial"), "wb") as out:
            write_export(synthetic_ledger(entries), "ndjson", out)
        path.with_suffix(".partial").replace(path)
    expected = None
    with open(path, "rb") as handle:  # the last line's head, as an auditor would read ledgerHead()
        handle.seek(-400, 2)
        expected = handle.read().splitlines()[-1].split(b'"head":"')[1][:66].decode()
    best = None
    for _ in range(2):
        start = time.perf_counter()
        with open(path, "rb") as handle:
            report = audit_export(handle, CHAIN_ID, CONTRACT, expect_head=expected)
        elapsed = time.perf_counter() - start
        assert report.ok and report.ledger_length == entries, report.findings[:3]
        best = elapsed if best is None else min(best, elapsed)
    rate = entries / best
    seconds, hashed = keccak_loop(path, min(entries, 200_000))
    keccak_rate = hashed / seconds
    met = rate >= TARGET
    print(
        f"offline replay: {entries:,} entries in {best:.2f}s = {rate:,.0f} entries/s "
        f"(target >= {TARGET:,}: {'met' if met else 'MISSED'}); a bare Keccak-256 loop over the same "
        f"preimages: {keccak_rate:,.0f}/s (the replay is {rate / keccak_rate:.2f}x that)"
    )
    return met


def bench_onchain(entries: int) -> None:
    import importlib.util

    from devnet.deploy import NodeAccount, connect, deploy_escrow, escrow_contract
    from devnet.nodes import LocalNode
    from ledger.chain.events import LEDGER_TOPICS_FILTER
    from ledger.chain.rpc import RpcClient

    spec = importlib.util.spec_from_file_location("bench_index", Path(__file__).with_name("index.py"))
    bench_index = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(bench_index)  # type: ignore[union-attr]
    with LocalNode.start(extra_args=["--gas-limit", "1000000000", "--order", "fifo"]) as node:
        w3 = connect(node.url)
        rpc = RpcClient(node.url)
        deployment = deploy_escrow(w3, NodeAccount(w3.eth.accounts[0]), fee_recipient=w3.eth.accounts[9])
        print(f"generating {entries:,} entries on anvil ...", flush=True)
        bench_index.generate(rpc, w3, escrow_contract(w3, deployment.address), entries, 200, 20_000)
        end = w3.eth.block_number
        start = time.perf_counter()
        raw = len(rpc.get_logs(deployment.address, deployment.block, end, LEDGER_TOPICS_FILTER))
        raw_rate = raw / (time.perf_counter() - start)
        start = time.perf_counter()
        report = audit_chain(rpc, deployment.address, at_block=end, start_block=deployment.block)
        full = time.perf_counter() - start
        assert report.ok, report.findings[:3]
    rate = report.entries / full
    print(
        f"on-chain audit: {report.entries:,} entries, {report.positions:,} positions checked with pledgeOf, "
        f"{full:.2f}s = {rate:,.0f} entries/s; raw eth_getLogs {raw_rate:,.0f} logs/s; "
        f"ratio {rate / raw_rate:.2f}x raw"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--chain-entries", type=int, default=100_000)
    parser.add_argument("--workdir", default="build/bench")
    parser.add_argument("--skip-chain", action="store_true")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    met = bench_offline(args.entries, workdir)
    if not args.skip_chain:
        bench_onchain(args.chain_entries)
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
