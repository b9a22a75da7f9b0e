"""The API's database reads, one module per resource, on one connection layer (`database`):

    database     Database (SQLite through sqlite3, PostgreSQL through psycopg's async pool), Query
    checkpoint   the indexer's checkpoint and the chain time
    campaigns    campaigns, their pages and counts, the positions in one, the platform's totals
    backers      a backer's positions with their campaigns
    ledger       pages of entries and one entry, as the texts the indexer stored
    milestones   a milestone campaign's delivery, votes, reports and disclosures

Rows become records (ledger.core.records) through ledger.db.rows' one column list per table.
"""
