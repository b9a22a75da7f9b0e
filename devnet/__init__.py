"""Local development chains: start anvil or ganache, deploy the escrow, seed demo data."""
