"""The auditor's tools: replay, audits (from the chain and offline), verify, export and findings."""
