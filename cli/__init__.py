"""The `crowdledger` command line; it sits on top of ledger/, api/ and devnet/."""
