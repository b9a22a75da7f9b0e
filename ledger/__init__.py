"""CrowdLedger: index, audit and verify the CrowdfundEscrow ledger."""

__version__ = "0.2.0"

# how every CrowdLedger process writes its log lines (the command line, the backfill's reading process)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
