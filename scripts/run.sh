#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs `camofleet serve` (the
# control-plane with one embedded worker) in the foreground. Settings come from the environment (see docs/configuration.md);
# data goes to RUNNER_DATA (default ./.data).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export RUNNER_DATA="${RUNNER_DATA:-$PWD/.data}"
echo "run: camofleet serve on port ${PORT:-8080}, data in $RUNNER_DATA"
exec ./bin/camofleet serve "$@"
