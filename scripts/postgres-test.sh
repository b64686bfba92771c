#!/usr/bin/env bash
# Runs a throwaway PostgreSQL cluster for the registry tests: on 127.0.0.1, on
# a free port, with its data in a temporary folder, fsync off. Installs
# Debian's postgresql with apt-get when it is missing.
#
#   eval "$(scripts/postgres-test.sh start)"   # prints export CAMOFLEET_TEST_POSTGRES_URL=...
#   go test -race -count=1 ./internal/registry/...
#   scripts/postgres-test.sh stop              # stops the cluster and deletes its folder
#
# Other commands: status, env (prints the export line of a running cluster).
# start and stop are idempotent: start on a running cluster prints its URL
# again; stop without a cluster does nothing. Only the export line goes to
# stdout; progress and errors go to stderr.
#
# CAMOFLEET_PG_DIR sets the folder (default: $TMPDIR or /tmp, then
# camofleet-postgres-test-<uid>). As root the server runs as the postgres
# user, because initdb refuses to run as root.
set -euo pipefail

base="${CAMOFLEET_PG_DIR:-${TMPDIR:-/tmp}/camofleet-postgres-test-$(id -u)}"
data="$base/data"
sock="$base/run"
db=camofleet
user=camofleet

say() { echo "postgres-test: $*" >&2; }
die() { say "$*"; exit 1; }

# as runs a command as the cluster's owner: postgres when we are root.
as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

install_postgres() {
  if bindir >/dev/null; then return; fi
  say "installing postgresql with apt-get"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    postgresql >&2
  bindir >/dev/null || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
}

running() {
  [ -f "$data/postmaster.pid" ] && as "$(bindir)/pg_ctl" -D "$data" status >/dev/null 2>&1
}

print_env() {
  [ -f "$base/url" ] || die "no URL recorded in $base/url; run stop, then start"
  echo "export CAMOFLEET_TEST_POSTGRES_URL='$(cat "$base/url")'"
}

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

make_base() {
  if [ -e "$base" ] || [ -L "$base" ]; then
    local owner
    owner=$(stat -c %U "$base")
    [ -d "$base" ] && [ ! -L "$base" ] && { [ "$owner" = "$(as id -un)" ] || [ -O "$base" ]; } ||
      die "$base exists and is not a folder of $(as id -un); remove it or set CAMOFLEET_PG_DIR"
  else
    mkdir -m 0700 "$base"
  fi
  mkdir -p -m 0700 "$sock"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$base" "$sock"
  fi
  as test -w "$base" ||
    die "$(as id -un) cannot write $base (is a parent folder private?); set CAMOFLEET_PG_DIR"
}

init_cluster() {
  local bin="$1" password="$2"
  local pwfile="$base/pwfile"
  (umask 077 && printf '%s\n' "$password" >"$pwfile")
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pwfile"; fi
  if ! as "$bin/initdb" -D "$data" -U "$user" --pwfile="$pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C --no-sync >"$base/initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$base/initdb.log" >&2
    die "initdb failed"
  fi
  rm -f "$pwfile"
  as tee -a "$data/postgresql.conf" >/dev/null <<EOF
# camofleet throwaway test cluster: fast, not durable.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
}

start_server() {
  local bin="$1" port
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    if as "$bin/pg_ctl" -D "$data" -l "$base/server.log" -o "-p $port" -w -t 60 start \
      >/dev/null 2>&1; then
      echo "$port"
      return
    fi
    say "server did not start on port $port; trying another"
  done
  tail -n 20 "$base/server.log" >&2 || true
  die "server did not start; log: $base/server.log"
}

cmd_start() {
  install_postgres
  local bin
  bin=$(bindir)
  if running && [ -f "$base/url" ]; then
    say "already running in $base"
    print_env
    return
  fi
  if [ -e "$data" ]; then
    say "removing an unfinished or stopped cluster left in $base"
    cmd_stop
  fi
  make_base
  # Whatever fails from here on, leave no server or folder behind.
  trap 'status=$?; if [ "$status" != 0 ]; then cmd_stop; fi; exit "$status"' EXIT

  local password port
  password=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
  init_cluster "$bin" "$password"
  port=$(start_server "$bin")

  PGPASSWORD="$password" "$bin/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres \
    -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $db" >/dev/null ||
    die "create database $db failed"
  (umask 077 && echo "postgres://$user:$password@127.0.0.1:$port/$db?sslmode=disable" \
    >"$base/url")
  trap - EXIT
  say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running on" \
    "127.0.0.1:$port, data in $base"
  print_env
}

cmd_stop() {
  if [ ! -e "$base" ]; then
    say "nothing to stop ($base does not exist)"
    return
  fi
  local bin
  bin=$(bindir || true)
  if [ -n "$bin" ] && [ -f "$data/postmaster.pid" ]; then
    as "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      as "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  if [ -f "$data/postmaster.pid" ]; then
    local pid
    pid=$(head -n 1 "$data/postmaster.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      die "server (pid $pid) did not stop; $base kept"
    fi
  fi
  rm -rf "$base"
  say "stopped and removed $base"
}

cmd_status() {
  if [ -n "$(bindir || true)" ] && running; then
    say "running in $base"
    print_env
  else
    say "not running"
    return 1
  fi
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) running || die "not running; run start"; print_env ;;
*)
  echo "usage: $0 start|stop|status|env" >&2
  exit 2
  ;;
esac
