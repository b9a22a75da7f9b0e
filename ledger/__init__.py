"""CrowdLedger: index, audit and verify the CrowdfundEscrow ledger."""

__version__ = "0.2.0"
