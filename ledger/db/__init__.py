"""Storage: one SQLAlchemy schema for SQLite and PostgreSQL, Alembic migrations, and the store
the indexer writes through."""
