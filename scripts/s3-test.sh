#!/usr/bin/env bash
# Runs a throwaway SeaweedFS S3 server for the artifact-store tests: on
# 127.0.0.1, on free ports, with its data in a temporary folder and a known
# access and secret key. Builds the weed binary from the Go module proxy the
# first time (about six minutes on two cores) and caches it.
#
#   eval "$(scripts/s3-test.sh start)"   # prints export CAMOFLEET_TEST_S3_...=...
#   go test -race -count=1 ./internal/s3store/...
#   scripts/s3-test.sh stop              # stops the server and deletes its folder
#
# Other commands: build (only build or find the cached binary and print its
# path), status, env (prints the export lines of a running server).
# start and stop are idempotent: start on a running server prints its
# variables again; stop without a server does nothing. Only the export lines
# (and build's path) go to stdout; progress and errors go to stderr.
#
# Settings (environment):
#   CAMOFLEET_WEED_VERSION      module version of github.com/seaweedfs/seaweedfs
#   CAMOFLEET_WEED_CACHE        folder of the cached binary
#                               (default ~/.cache/camofleet/weed-<version>)
#   CAMOFLEET_WEED_BUILD_TIMEOUT  seconds the download and build may take (1500)
#   CAMOFLEET_S3_DIR            server folder (default: $TMPDIR or /tmp, then
#                               camofleet-s3-test-<uid>)
#   CAMOFLEET_S3_START_TIMEOUT  seconds to wait for S3 to answer (90)
set -euo pipefail

module=github.com/seaweedfs/seaweedfs
version="${CAMOFLEET_WEED_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
cache="${CAMOFLEET_WEED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/camofleet/weed-$version}"
weed="$cache/weed"
build_timeout="${CAMOFLEET_WEED_BUILD_TIMEOUT:-1500}"
start_timeout="${CAMOFLEET_S3_START_TIMEOUT:-90}"
stop_grace=5

base="${CAMOFLEET_S3_DIR:-${TMPDIR:-/tmp}/camofleet-s3-test-$(id -u)}"
bucket=camofleet-test
access_key=camofleet-test-access
region=us-east-1

say() { echo "s3-test: $*" >&2; }
die() { say "$*"; exit 1; }

need() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null || die "$cmd not found; it is needed to run the S3 test server"
  done
}

# ---- build ---------------------------------------------------------------

# build_weed puts a weed binary at $weed unless one is there. The module
# cannot be installed with go install (its go.mod has replace directives), so
# it is downloaded, copied to a writable folder and built there.
build_weed() {
  if [ -x "$weed" ] && "$weed" version >/dev/null 2>&1; then
    return
  fi
  need go flock timeout
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock -w "$build_timeout" 9 || die "another build holds $cache/.lock"
  if [ -x "$weed" ] && "$weed" version >/dev/null 2>&1; then
    exec 9>&-
    return
  fi

  local started json src work status=0
  started=$(date +%s)
  say "downloading $module@$version"
  json=$(cd / && timeout "$build_timeout" go mod download -json "$module@$version" 2>&1) || true
  src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$json")
  if [ -z "$src" ] || [ ! -d "$src/weed" ]; then
    echo "$json" >&2
    die "go mod download $module@$version failed (is the Go module proxy reachable?)"
  fi

  # The same folder every time, so that a build cut short by the timeout
  # finds its packages in Go's build cache when it is run again.
  work="$cache/src"
  say "building weed in $work (about six minutes on two idle cores)"
  rm -rf "$work"
  cp -r "$src" "$work"
  chmod -R u+w "$work"
  (cd "$work" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
    timeout "$build_timeout" go build -o "$cache/weed.partial" ./weed) >&2 || status=$?
  rm -rf "$work"
  if [ "$status" != 0 ]; then
    rm -f "$cache/weed.partial"
    [ "$status" = 124 ] && die "building weed took more than ${build_timeout}s" \
      "(a busy machine?); what was compiled stays in Go's build cache, so run" \
      "again, or raise CAMOFLEET_WEED_BUILD_TIMEOUT"
    die "building weed failed (exit $status)"
  fi
  mv "$cache/weed.partial" "$weed"
  exec 9>&-
  say "built $("$weed" version 2>/dev/null | head -n 1) in $(($(date +%s) - started))s: $weed"
}

# ---- server --------------------------------------------------------------

pid_of() { [ -f "$base/weed.pid" ] && cat "$base/weed.pid"; }

# alive reports whether process $1 exists and has not exited: an exited
# process whose parent has not reaped it yet (a zombie) counts as gone.
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

running() {
  local pid
  pid=$(pid_of 2>/dev/null) || return 1
  [ -n "$pid" ] && alive "$pid" &&
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$weed")" ]
}

print_env() {
  [ -f "$base/env" ] || die "no variables recorded in $base/env; run stop, then start"
  cat "$base/env"
}

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_ports prints a base port p such that p..p+4 and their gRPC twins
# (p+10000..p+10004) are free: SeaweedFS puts each gRPC server at port+10000.
pick_ports() {
  local p i ok
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    ok=1
    for i in 0 1 2 3 4; do
      port_free $((p + i)) && port_free $((p + i + 10000)) || { ok=0; break; }
    done
    if [ "$ok" = 1 ]; then echo "$p"; return; fi
  done
  die "found no free ports on 127.0.0.1"
}

write_config() {
  local secret="$1"
  (umask 077 && cat >"$base/s3.json" <<EOF
{
  "identities": [
    {
      "name": "camofleet-test",
      "credentials": [{"accessKey": "$access_key", "secretKey": "$secret"}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF
  )
}

# s3_request sends one SigV4-signed request with curl and prints the status.
s3_request() {
  local method="$1" url="$2" secret="$3"
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X "$method" \
    --aws-sigv4 "aws:amz:$region:s3" --user "$access_key:$secret" "$url" || true
}

# wait_ready waits until a signed ListBuckets answers 200, and fails early
# when the server process dies.
wait_ready() {
  local url="$1" secret="$2" pid="$3" deadline code=""
  deadline=$(($(date +%s) + start_timeout))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    alive "$pid" || {
      tail -n 30 "$base/weed.log" >&2 || true
      die "weed exited during start (the end of its log is above)"
    }
    code=$(s3_request GET "$url/" "$secret")
    [ "$code" = 200 ] && return
    sleep 0.5
  done
  tail -n 30 "$base/weed.log" >&2 || true
  die "S3 at $url did not answer within ${start_timeout}s" \
    "(last status ${code:-none}; the end of weed's log is above)"
}

# create_bucket retries for a while: just after start the filer may still be
# assigning its first volumes.
create_bucket() {
  local url="$1" secret="$2" code="" deadline
  deadline=$(($(date +%s) + start_timeout))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    code=$(s3_request PUT "$url/$bucket" "$secret")
    case "$code" in 200 | 409) return ;; esac
    sleep 0.5
  done
  tail -n 30 "$base/weed.log" >&2 || true
  die "could not create bucket $bucket (last status ${code:-none};" \
    "the end of weed's log is above)"
}

make_base() {
  if [ -e "$base" ] || [ -L "$base" ]; then
    [ -d "$base" ] && [ ! -L "$base" ] && [ -O "$base" ] ||
      die "$base exists and is not a folder of ours; remove it or set CAMOFLEET_S3_DIR"
  else
    mkdir -m 0700 "$base"
  fi
  mkdir -p "$base/data"
}

cmd_start() {
  need curl setsid
  build_weed
  if running && [ -f "$base/env" ]; then
    say "already running in $base"
    print_env
    return
  fi
  if [ -e "$base" ]; then
    say "removing a stopped or unfinished server left in $base"
    cmd_stop
  fi
  make_base
  # Whatever fails from here on, leave no server or folder behind.
  trap 'status=$?; if [ "$status" != 0 ]; then cmd_stop; fi; exit "$status"' EXIT

  local secret p url pid
  secret=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
  write_config "$secret"
  p=$(pick_ports)
  url="http://127.0.0.1:$((p + 3))"

  # One process: master, volume, filer and S3 on loopback, no telemetry.
  setsid "$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$base/data" \
    -master.port="$p" -volume.port=$((p + 1)) -filer -filer.port=$((p + 2)) \
    -s3 -s3.port=$((p + 3)) -s3.config="$base/s3.json" \
    -master.volumeSizeLimitMB=64 -volume.max=20 -master.telemetry=false \
    </dev/null >"$base/weed.log" 2>&1 &
  pid=$!
  echo "$pid" >"$base/weed.pid"

  wait_ready "$url" "$secret" "$pid"
  create_bucket "$url" "$secret"
  (umask 077 && cat >"$base/env" <<EOF
export CAMOFLEET_TEST_S3_ENDPOINT='$url'
export CAMOFLEET_TEST_S3_ACCESS_KEY='$access_key'
export CAMOFLEET_TEST_S3_SECRET_KEY='$secret'
export CAMOFLEET_TEST_S3_BUCKET='$bucket'
EOF
  )
  trap - EXIT
  say "SeaweedFS $("$weed" version 2>/dev/null | awk '{print $3; exit}') S3 on $url" \
    "(pid $pid), data in $base"
  print_env
}

# wait_gone waits up to $2 seconds for process $1 to exit.
wait_gone() {
  local deadline=$(($(date +%s) + $2))
  while alive "$1" && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
  done
  ! alive "$1"
}

# stop_pid stops the server's process group: TERM, then KILL after
# stop_grace. weed's own shutdown can take half a minute (its filer retries
# flushing a metadata log to the volume server it has already stopped); the
# data is thrown away, so there is no point waiting for it.
stop_pid() {
  local pid="$1"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  wait_gone "$pid" "$stop_grace" && return
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" 5 || die "weed (pid $pid) did not stop; $base kept"
}

cmd_stop() {
  if [ ! -e "$base" ]; then
    say "nothing to stop ($base does not exist)"
    return
  fi
  if running; then
    stop_pid "$(pid_of)"
  fi
  rm -rf "$base"
  say "stopped and removed $base"
}

cmd_status() {
  if running; then
    say "running in $base (pid $(pid_of))"
    print_env
  else
    say "not running"
    return 1
  fi
}

case "${1:-}" in
build) build_weed; echo "$weed" ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) running || die "not running; run start"; print_env ;;
*)
  echo "usage: $0 build|start|stop|status|env" >&2
  exit 2
  ;;
esac
