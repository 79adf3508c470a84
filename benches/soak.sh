#!/usr/bin/env bash
# Soak run (issue 5): 10,000 jobs with mixed outcomes through two dispatchers. Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin ebmbot --example soak
target/release/examples/soak target/release/ebmbot "${1:-10000}"
