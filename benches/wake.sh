#!/usr/bin/env bash
# Idle CPU of `ebmbot serve` and schedule → running latency across processes (issue 10), on
# SQLite and on PostgreSQL, with `examples/wake_bench.rs` (docs/benchmarks.md has the figures).
#
# Usage: benches/wake.sh [SECONDS]
#   SECONDS                 idle span measured (default 60)
#   JOBS                    jobs timed for the latency (default 200)
#   EBMBOT_BENCH_POSTGRES   a PostgreSQL URL where the user may create databases (default
#                           postgres://root@127.0.0.1:5432/postgres); `none` skips PostgreSQL
#   ONLY                    `idle` or `latency` to run one half
# Builds with --release (CI must not run this). Other benchmarks may call the example directly:
#   target/release/examples/wake_bench idle|latency target/release/ebmbot <EBMBOT_DB> <seconds|jobs>
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
jobs=${JOBS:-200}
only=${ONLY:-}
admin=${EBMBOT_BENCH_POSTGRES:-postgres://root@127.0.0.1:5432/postgres}
cargo build --release --bin ebmbot --example wake_bench >&2
bin=target/release/ebmbot
bench=target/release/examples/wake_bench
work=$(mktemp -d)
pg_dbs=()
cleanup() {
  for db in "${pg_dbs[@]}"; do psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

run() { # run BACKEND-DB-FOR-LATENCY BACKEND-DB-FOR-IDLE
  [ "$only" = idle ] || "$bench" latency "$bin" "$1" "$jobs"
  [ "$only" = latency ] || "$bench" idle "$bin" "$2" "$seconds"
}

run "$work/latency.db" "$work/idle.db"
if [ "$admin" != none ]; then
  base=${admin%/*}
  for db in ebmbot_bench_wake_latency ebmbot_bench_wake_idle; do
    psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
    pg_dbs+=("$db")
  done
  run "$base/ebmbot_bench_wake_latency" "$base/ebmbot_bench_wake_idle"
fi
