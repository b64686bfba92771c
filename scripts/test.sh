#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs every test: go vet, then the
# Go tests with the race detector, real browsers included.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="/usr/local/go/bin:$PATH"

echo "test: go vet"
go vet ./...

echo "test: node --check driver/launcher.cjs"
node --check driver/launcher.cjs

echo "test: starting PostgreSQL for the registry tests"
eval "$(scripts/postgres-test.sh start)"
trap 'scripts/postgres-test.sh stop >/dev/null 2>&1 || true' EXIT

echo "test: go test -race"
go test -race -count=1 -timeout 45m ./... 2>&1 | tee /tmp/camofleet-test.log
