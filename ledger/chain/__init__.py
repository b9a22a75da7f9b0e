"""Talking to the chain: the JSON-RPC client, eth_getLogs ranges, log decoding, the escrow's views and the deployment file."""
