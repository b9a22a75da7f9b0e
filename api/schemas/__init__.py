"""The API's public schemas, one module per resource (`XPublic` is one item as the API shows it,
`XsPublic` a page of them: `data` and `next`), each with the functions that fill its schemas from
the records:

    common       field types, campaign states, ErrorPublic
    campaigns    CampaignPublic, CampaignsPublic, PositionPublic, CampaignBackersPublic, ...
    backers      BackerPublic, BackedCampaignPublic, BackerVotesPublic
    ledger       EntryPublic, EntryDetailPublic (the ledger's own, ledger.core.public), EntriesPublic
    milestones   MilestonesPublic, VotePublic, DocumentPublic and their pages
    audit        AuditPublic        stats   StatsPublic
    health       HealthPublic       verify  TxVerificationPublic, BackerVerificationPublic

The schemas are pydantic-annotated TypedDicts, like the ledger entry's: the routes build them as
plain dicts (mypy checks each against its schema) and encode them with orjson; FastAPI publishes
them in /openapi.json, and the tests validate every answer against them.
"""
