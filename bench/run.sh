#!/usr/bin/env bash
# Runs the benchmarks of docs/benchmarks.md and prints a Markdown report on
# stdout (progress on stderr):
#   - the Go benchmarks of internal/relay (no browser);
#   - bench/bench.cjs against a camofleet worker it starts on a free loopback
#     port with a temporary RUNNER_DATA, with bare Playwright as the baseline.
# Everything runs on 127.0.0.1. The worker is stopped with SIGTERM; anything
# of this run still alive afterwards is killed and reported, and the script
# then fails. Needs what scripts/setup.sh installs (browsers, driver/).
#
# Knobs (environment): BENCH_ENGINES, BENCH_ROUNDS, BENCH_WARMUP, BENCH_EVALS,
# BENCH_EVAL_ROUNDS, BENCH_SETTLE_MS, BENCH_MEM_SAMPLES (see bench.cjs);
# GO_BENCH_COUNT (5); BENCH_KEEP=dir keeps the raw results, Go benchmark
# output and worker log there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RUN_LIMIT_SEC=3000      # the whole Node benchmark
WORKER_STOP_SEC=60      # SIGTERM to exit; sessions close politely meanwhile
WORKER_START_SEC=30     # until /health answers

for tool in node go curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
[ -f driver/node_modules/playwright-core/package.json ] ||
  { echo "bench: driver/node_modules is missing; run scripts/setup.sh" >&2; exit 1; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RUN_TMP=$(mktemp -d /tmp/camofleet-bench.XXXXXX)
# Every process of this run inherits this marker (Chromium's zygotes drop
# their environment, so the sweep also takes descendants and RUN_TMP paths).
export CAMOFLEET_BENCH_RUN
CAMOFLEET_BENCH_RUN=$(basename "$RUN_TMP")
WORKER_PID=""
BENCH_PID=""

log() { echo "[run.sh $(date +%T)] $*" >&2; }

# leftovers prints the pids of this run's processes still alive.
leftovers() {
  node -e '
    const fs = require("fs");
    const [mark, dir, self] = process.argv.slice(1);
    const ps = new Map();
    for (const n of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
      try {
        const st = fs.readFileSync(`/proc/${n}/stat`, "utf8");
        const ppid = Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
        let env = "", cmd = "";
        try { env = fs.readFileSync(`/proc/${n}/environ`, "latin1"); } catch {}
        try { cmd = fs.readFileSync(`/proc/${n}/cmdline`, "latin1"); } catch {}
        ps.set(Number(n), { ppid, hit: env.split("\0").includes(mark) || cmd.includes(dir) });
      } catch {}
    }
    const mine = new Set(); // this check, its shell and run.sh itself
    for (let pid = process.pid; ps.has(pid) && !mine.has(pid); pid = ps.get(pid).ppid) {
      mine.add(pid);
      if (pid === Number(self)) break;
    }
    const out = new Set();
    const stack = [...ps].filter(([pid, p]) => p.hit && !mine.has(pid)).map(([pid]) => pid);
    while (stack.length) {
      const pid = stack.pop();
      if (out.has(pid) || mine.has(pid)) continue;
      out.add(pid);
      for (const [c, p] of ps) if (p.ppid === pid) stack.push(c);
    }
    console.log([...out].join(" "));
  ' "CAMOFLEET_BENCH_RUN=$CAMOFLEET_BENCH_RUN" "$RUN_TMP" "$$"
}

stop_worker() {
  [ -n "$WORKER_PID" ] || return 0
  if kill -0 "$WORKER_PID" 2>/dev/null; then
    log "stopping the worker (SIGTERM)"
    kill -TERM "$WORKER_PID" 2>/dev/null || true
    for _ in $(seq $((WORKER_STOP_SEC * 10))); do
      kill -0 "$WORKER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$WORKER_PID" 2>/dev/null; then
      log "worker still running after ${WORKER_STOP_SEC}s; killing it"
      kill -KILL "$WORKER_PID" 2>/dev/null || true
    fi
  fi
  wait "$WORKER_PID" 2>/dev/null || true
  WORKER_PID=""
}

stop_bench() {
  [ -n "$BENCH_PID" ] || return 0
  if kill -0 "$BENCH_PID" 2>/dev/null; then
    log "stopping bench.cjs (SIGTERM); it ends what it started"
    kill -TERM "$BENCH_PID" 2>/dev/null || true
    for _ in $(seq 900); do kill -0 "$BENCH_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$BENCH_PID" 2>/dev/null || true
  fi
  wait "$BENCH_PID" 2>/dev/null || true
  BENCH_PID=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_bench
  stop_worker
  local left
  left=$(leftovers)
  if [ -n "$left" ]; then
    log "processes of this run still alive, killed: $left"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    [ "$rc" = 0 ] && rc=1
  else
    log "no process of this run is left"
  fi
  if [ -n "${BENCH_KEEP:-}" ] && [ -d "$RUN_TMP" ]; then
    mkdir -p "$BENCH_KEEP"
    cp -f "$RUN_TMP"/{results.json,gobench.txt,worker.log,report.md} "$BENCH_KEEP"/ \
      2>/dev/null || true
  fi
  rm -rf "$RUN_TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

log "building camofleet into $RUN_TMP"
go build -o "$RUN_TMP/camofleet" ./cmd/camofleet

log "Go relay benchmarks (count ${GO_BENCH_COUNT:-5})"
go test -run '^$' -bench . -benchmem -count "${GO_BENCH_COUNT:-5}" -timeout 10m \
  ./internal/relay/ > "$RUN_TMP/gobench.txt"

PORT=$(node -e 'const s = require("net").createServer();
  s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
mkdir -p "$RUN_TMP/data" "$RUN_TMP/tmp"
log "starting a worker on 127.0.0.1:$PORT"
RUNNER_DATA="$RUN_TMP/data" PORT="$PORT" LISTEN_ADDR=127.0.0.1 MAX_SESSIONS=6 \
  IDLE_TTL_SEC=900 MAX_DURATION_SEC=3600 LOG_LEVEL=info CAMOFLEET_DRIVER_DIR="$ROOT/driver" \
  "$RUN_TMP/camofleet" worker > "$RUN_TMP/worker.log" 2>&1 &
WORKER_PID=$!
for _ in $(seq $((WORKER_START_SEC * 10))); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  kill -0 "$WORKER_PID" 2>/dev/null || { tail -20 "$RUN_TMP/worker.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null ||
  { log "worker not answering after ${WORKER_START_SEC}s"; exit 1; }

log "running bench/bench.cjs (bounded to ${RUN_LIMIT_SEC}s)"
NODE_PATH="$ROOT/driver/node_modules" TMPDIR="$RUN_TMP/tmp" \
  WORKER_URL="http://127.0.0.1:$PORT" WORKER_PID="$WORKER_PID" \
  GO_BENCH_FILE="$RUN_TMP/gobench.txt" BENCH_JSON="$RUN_TMP/results.json" \
  timeout -k 30 "$RUN_LIMIT_SEC" node bench/bench.cjs > "$RUN_TMP/report.md" &
BENCH_PID=$!
# wait returns early on a signal, so the traps run at once.
bench_rc=0
wait "$BENCH_PID" || bench_rc=$?
BENCH_PID=""
[ "$bench_rc" = 0 ] || { log "bench.cjs failed ($bench_rc)"; exit "$bench_rc"; }
stop_worker

chromium_v=$(/usr/bin/chromium --version 2>/dev/null | head -1 || true)
firefox_v=$(firefox-esr --version 2>/dev/null | head -1 || true)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
ram=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
pwv=$(node -p 'require("./driver/node_modules/playwright-core/package.json").version')
code=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
git diff --quiet HEAD 2>/dev/null || code="$code with uncommitted changes in the working tree"
versions="${chromium_v:-chromium ?}; ${firefox_v:-firefox ?}; Node $(node --version)"
versions="$versions; $(go version | cut -d' ' -f3); playwright-core $pwv"
cat <<EOF
## Run of $(date -u +"%Y-%m-%d %H:%M UTC")

- machine: $(nproc) cores ($cpu), $ram RAM, $(uname -sr)
- load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)
- $versions
- code: $code
- command: \`bench/run.sh\`

EOF
cat "$RUN_TMP/report.md"
