"""CrowdLedger public read-only API."""
