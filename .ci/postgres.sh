#!/usr/bin/env bash
# Start Debian's PostgreSQL and create the role the test suite uses; prints the URL to export as
# CROWDLEDGER_TEST_PG_URL. Idempotent. Needs root (CI runs as root).
set -euo pipefail
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 0.2
done
su postgres -c "psql -q -c \"DO \\\$\\\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crowdledger') THEN
    CREATE ROLE crowdledger LOGIN SUPERUSER PASSWORD 'crowdledger';
  END IF; END \\\$\\\$;\"" >/dev/null
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname = 'crowdledger'\" | grep -q 1 || createdb -O crowdledger crowdledger"
echo "postgresql+psycopg://crowdledger:crowdledger@127.0.0.1:5432/crowdledger"
