"""The ledger's core: plain records, the hash chain, projections, statuses and the public text of an entry. No I/O."""
