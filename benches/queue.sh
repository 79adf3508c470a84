#!/usr/bin/env bash
# The queue benchmark (issues 2 and 10), on SQLite and PostgreSQL in the same run: cycles per
# second with one dispatcher and with four, `queue list --json` with 10,000 jobs, cross-process
# dispatch latency, and the CPU of an idle `serve` over a minute. Builds in release mode (not
# for CI). PostgreSQL: EBMBOT_BENCH_POSTGRES names a server where the user may create
# databases (default postgres://root@127.0.0.1:5432/postgres); set it empty to skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
pg="${EBMBOT_BENCH_POSTGRES-postgres://root@127.0.0.1:5432/postgres}"
cargo build --release --bin ebmbot --example queue_bench
target/release/examples/queue_bench target/release/ebmbot "$pg"
