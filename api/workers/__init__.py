"""The API process's background work: the follower (the indexer in a thread), the auditor (audits
at an interval and after new entries) and the entry feed (the newest entries, read once for every
event stream)."""
