"""The indexer: the sync loop, the batch writer and progress reporting."""
