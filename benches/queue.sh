#!/usr/bin/env bash
# The queue benchmark (issue 2): cycles per second against plain SQLite, `queue list --json`
# with 10,000 jobs, and cross-process dispatch latency. Builds in release mode (not for CI).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin ebmbot --example queue_bench
target/release/examples/queue_bench target/release/ebmbot
